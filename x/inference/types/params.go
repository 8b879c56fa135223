package types

import "fmt"

// Defaults: 30% of a settled amount to the serving workers; deposits held 100 blocks to about
// two months of 5 s blocks; 256 receipts a settlement.
const (
	DefaultServingBps       = 3000
	DefaultMinDepositBlocks = 100
	DefaultMaxDepositBlocks = 1_000_000
	DefaultMaxReceipts      = 256
	// MaxBps is 100%.
	MaxBps = 10_000
	// MaxRequestID bounds a receipt's request_id.
	MaxRequestID = 64
	// TokensPerPrice is the count a price is quoted for.
	TokensPerPrice = 1000
	// ReceiptVerifyGas is charged for each receipt's signature check (the SDK's secp256k1 cost).
	ReceiptVerifyGas = 1000
	// PrunePerBlock bounds the settled records of withdrawn deposits EndBlock deletes a block.
	PrunePerBlock = 256
)

// DefaultParams are the parameters of a new chain.
func DefaultParams() Params {
	return Params{
		ServingBps: DefaultServingBps, MinDepositBlocks: DefaultMinDepositBlocks,
		MaxDepositBlocks: DefaultMaxDepositBlocks, MaxReceipts: DefaultMaxReceipts,
	}
}

// Validate reports the first field out of range.
func (p Params) Validate() error {
	switch {
	case p.ServingBps > MaxBps:
		return fmt.Errorf("serving_bps must be at most %d, got %d", MaxBps, p.ServingBps)
	case p.MinDepositBlocks <= 0:
		return fmt.Errorf("min_deposit_blocks must be positive, got %d", p.MinDepositBlocks)
	case p.MaxDepositBlocks < p.MinDepositBlocks:
		return fmt.Errorf("max_deposit_blocks %d is below min_deposit_blocks %d", p.MaxDepositBlocks, p.MinDepositBlocks)
	case p.MaxReceipts == 0:
		return fmt.Errorf("max_receipts must be positive")
	}
	return nil
}
