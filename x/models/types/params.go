package types

import "fmt"

// Defaults; governance may change them. They bound new models only.
const (
	DefaultMaxStages        = 64
	DefaultMaxReplicasLimit = 64
	DefaultMaxNameLength    = 64
)

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{
		MaxStages:        DefaultMaxStages,
		MaxReplicasLimit: DefaultMaxReplicasLimit,
		MaxNameLength:    DefaultMaxNameLength,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.MaxStages == 0 {
		return fmt.Errorf("max_stages must be at least 1")
	}
	if p.MaxReplicasLimit == 0 {
		return fmt.Errorf("max_replicas_limit must be at least 1")
	}
	if p.MaxNameLength == 0 {
		return fmt.Errorf("max_name_length must be at least 1")
	}
	return nil
}
