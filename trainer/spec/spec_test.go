package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

func TestPresetsValid(t *testing.T) {
	for _, name := range PresetNames() {
		s, err := Preset(name)
		require.NoError(t, err)
		require.NoError(t, s.Validate(), name)
	}
	s, err := Preset("tiny")
	require.NoError(t, err)
	s.Stages[0] = 99 // a copy: the preset is unchanged
	again, err := Preset("tiny")
	require.NoError(t, err)
	require.Equal(t, 1, again.Stages[0])
	_, err = Preset("huge")
	require.ErrorContains(t, err, "presets: gpu-2048, small, tiny")
}

func TestValidateNamesTheProblem(t *testing.T) {
	ok, err := Preset("tiny")
	require.NoError(t, err)
	for want, edit := range map[string]func(*Spec){
		"vocab is 0":                        func(s *Spec) { s.Vocab = 0 },
		"seq_len is -1":                     func(s *Spec) { s.SeqLen = -1 },
		"not divisible by n_heads 5":        func(s *Spec) { s.NHeads = 5 },
		"head width d_model/n_heads = 3":    func(s *Spec) { s.DModel, s.NHeads = 12, 4 },
		"compression_rank 64":               func(s *Spec) { s.CompressionRank = 64 },
		"compression_rank -1":               func(s *Spec) { s.CompressionRank = -1 },
		"stages is empty":                   func(s *Spec) { s.Stages = nil },
		"stages[1] has 0 layers":            func(s *Spec) { s.Stages = []int{3, 0} },
		"add up to 2 layers, n_layers is 3": func(s *Spec) { s.Stages = []int{1, 1} },
	} {
		s := ok
		s.Stages = append([]int(nil), ok.Stages...)
		edit(&s)
		require.ErrorContains(t, s.Validate(), want)
	}
}

func TestStages(t *testing.T) {
	s := Spec{Vocab: 256, DModel: 32, NLayers: 6, NHeads: 2, SeqLen: 8, Stages: []int{1, 3, 2}}
	var got []Stage
	for i := range s.Stages {
		st, err := s.Stage(i)
		require.NoError(t, err)
		got = append(got, st)
	}
	require.Equal(t, []Stage{
		{Index: 0, FirstLayer: 0, Layers: 1, First: true},
		{Index: 1, FirstLayer: 1, Layers: 3},
		{Index: 2, FirstLayer: 4, Layers: 2, Last: true},
	}, got)
	_, err := s.Stage(3)
	require.ErrorContains(t, err, "stage 3 outside [0, 3)")
	one := Spec{Vocab: 256, DModel: 32, NLayers: 2, NHeads: 2, SeqLen: 8, Stages: []int{2}}
	st, err := one.Stage(0)
	require.NoError(t, err)
	require.True(t, st.First && st.Last)
}

func TestDerivedSizes(t *testing.T) {
	s := Spec{DModel: 2048, NHeads: 16, CompressionRank: 20}
	require.Equal(t, 128, s.HeadDim())
	require.Equal(t, 5472, s.FFNHidden()) // ceil(8·2048/3) = 5462 → 5472
	require.Equal(t, 20, s.BoundaryWidth())
	s.CompressionRank = 0
	require.Equal(t, 2048, s.BoundaryWidth())
	require.False(t, s.Compressed())
	require.Equal(t, 192, Spec{DModel: 64}.FFNHidden()) // 171 → 192
}

func TestFromModel(t *testing.T) {
	m := modelstypes.Model{
		Id:     7,
		Arch:   modelstypes.Architecture{Vocab: 256, DModel: 64, NLayers: 3, NHeads: 4, SeqLen: 32, CompressionRank: 2},
		Stages: []modelstypes.StageSpec{{Layers: 2}, {Layers: 1}},
		Seed:   42,
	}
	s, err := FromModel(m)
	require.NoError(t, err)
	require.Equal(t, Spec{Vocab: 256, DModel: 64, NLayers: 3, NHeads: 4, SeqLen: 32, CompressionRank: 2, Stages: []int{2, 1}, Seed: 42}, s)

	m.Arch.CompressionRank = 64 // the chain's "no compression"
	s, err = FromModel(m)
	require.NoError(t, err)
	require.Equal(t, 0, s.CompressionRank)

	m.Arch.DModel, m.Arch.NHeads = 12, 4 // accepted by the chain, odd head width
	_, err = FromModel(m)
	require.ErrorContains(t, err, "model 7: spec: head width")
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	s, err := Load(write("ok.json", `{"vocab":256,"d_model":64,"n_layers":2,"n_heads":4,"seq_len":16,"compression_rank":2,"stages":[1,1],"seed":3}`))
	require.NoError(t, err)
	require.Equal(t, []int{1, 1}, s.Stages)

	_, err = Load(write("typo.json", `{"vocab":256,"dmodel":64}`))
	require.ErrorContains(t, err, `unknown field "dmodel"`)
	_, err = Load(write("bad.json", `{"vocab":256,"d_model":64,"n_layers":2,"n_heads":4,"seq_len":16,"stages":[2,1]}`))
	require.ErrorContains(t, err, "bad.json: spec: stages [2 1] add up to 3 layers")
	_, err = Load(write("two.json", `{"vocab":1} {"vocab":2}`))
	require.ErrorContains(t, err, "more than one JSON value")
	_, err = Load(filepath.Join(dir, "missing.json"))
	require.ErrorContains(t, err, "no such file")
}
