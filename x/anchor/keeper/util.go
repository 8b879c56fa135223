package keeper

import (
	"errors"

	"cosmossdk.io/collections"

	"github.com/protolearn/protolearn/x/anchor/merkle"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

func isMerkleNotFound(err error) bool { return merkle.IsNotFound(err) }
