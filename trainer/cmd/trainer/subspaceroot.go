package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/node"
	"github.com/protolearn/protolearn/trainer/spec"
)

func newSubspaceRootCmd() *cobra.Command {
	var arch string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "subspace-root",
		Short: "Print the subspace root of a compressed model: its create-model --subspace-root",
		Long: `subspace-root builds a compressed model's public compression tables from its architecture
and seed, as every stage's trainer does (the subspace U, the fixed token table T_fixed and
T_fixed·U: circuits/tile.Tables), and prints their Poseidon2 root in hex. A designer puts it
in create-model --subspace-root; x/verify's input tile opens the tables against it, and
trainers refuse a model whose root is not their seed's. Only vocab, d_model and
compression_rank of --arch matter; an uncompressed model (compression_rank = d_model) has no
tables.`,
		Example: `  trainer subspace-root --arch '{"vocab":256,"d_model":32,"compression_rank":4}' --seed 7`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var a struct {
				Vocab           int `json:"vocab"`
				DModel          int `json:"d_model"`
				CompressionRank int `json:"compression_rank"`
			}
			if err := json.Unmarshal([]byte(arch), &a); err != nil {
				return fmt.Errorf("--arch: %w (want JSON as create-model takes it)", err)
			}
			if a.Vocab <= 0 || a.DModel <= 0 || a.CompressionRank <= 0 || a.CompressionRank >= a.DModel {
				return fmt.Errorf("--arch: vocab %d, d_model %d, compression_rank %d: a compressed model has all three positive and compression_rank below d_model", a.Vocab, a.DModel, a.CompressionRank)
			}
			t, err := node.SubspaceTables(spec.Spec{Vocab: a.Vocab, DModel: a.DModel, CompressionRank: a.CompressionRank, Seed: seed})
			if err != nil {
				return err
			}
			root := t.Root()
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(root[:]))
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", "", `the model's architecture as JSON, as given to create-model (e.g. '{"vocab":256,"d_model":32,"compression_rank":4}')`)
	cmd.Flags().Uint64Var(&seed, "seed", 0, "the model's seed, as given to create-model")
	_ = cmd.MarkFlagRequired("arch")
	_ = cmd.MarkFlagRequired("seed")
	return cmd
}
