package main

import (
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/data"
)

func newDatasetRootCmd() *cobra.Command {
	var dir, maxBytes string
	cmd := &cobra.Command{
		Use:   "dataset-root",
		Short: "Print the dataset commitment of a corpus: the model's dataset_commitment for training on it",
		Long: `dataset-root loads a corpus as the trainer does (--data, --max-bytes: the train split,
validation files set aside by path hash) and prints the Merkle root of its train split
(package dataset: SHA-256 over 4 KiB chunks, bound to the length) in hex. A model's designer
puts it in create-model --dataset-commitment; the trainers of the model's first and last
stages refuse to start on a corpus with another root, and a row a worker trained on can be
revealed and checked against it.`,
		Example: `  protolearnd tx models create-model my-lm ... --dataset-commitment $(trainer dataset-root --data ./corpus --max-bytes 8MiB)`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			limit, err := parseBytes(maxBytes)
			if err != nil {
				return fmt.Errorf("--max-bytes: %w", err)
			}
			if dir == "" {
				if dir, err = data.DefaultDir(); err != nil {
					return fmt.Errorf("no default corpus (%w); pass --data DIR", err)
				}
			}
			c, err := data.Load(dir, data.Options{MaxBytes: limit})
			if err != nil {
				return fmt.Errorf("--data %s: %w", dir, err)
			}
			root := c.DatasetRoot()
			st := c.Stats()
			fmt.Fprintf(cmd.ErrOrStderr(), "corpus %s: %d train files, %d bytes (capped: %v)\n", st.Dir, st.TrainFiles, st.TrainBytes, st.Capped)
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(root[:]))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "directory of text files (default: the Go source tree), as given to trainer run")
	cmd.Flags().StringVar(&maxBytes, "max-bytes", "64MiB", "cap on the corpus bytes loaded, as given to trainer run (e.g. 8MiB; 0 = no cap)")
	return cmd
}
