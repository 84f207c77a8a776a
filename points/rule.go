package points

import (
	"fmt"

	"github.com/socialpay/socialpay/ledger"
)

// RuleKind says how an EarnRule computes points.
type RuleKind uint8

const (
	// Fixed earns Points per earn: a sign-up bonus (key "signup": once per
	// user), a campaign's reward (key: the campaign, once per user and
	// campaign).
	Fixed RuleKind = iota + 1
	// PerAmount earns Points for every whole Per of a payment's amount
	// (rounded down): Points 1, Per 1.00 CNY earns 88 points for 88.88 CNY.
	PerAmount
)

// EarnRule is one way to earn points that the bank configures.
type EarnRule struct {
	Name   string // how earns name the rule; at most MaxNameLen bytes
	Kind   RuleKind
	Points int64        // points per earn (Fixed) or per whole Per (PerAmount)
	Per    ledger.Money // PerAmount: the step of the payment amount, positive
	Max    int64        // the most one earn gives; 0: no cap
}

// Validate checks the rule.
//
// Errors: ErrInvalidRule.
func (r EarnRule) Validate() error {
	switch {
	case !validName(r.Name):
		return fmt.Errorf("%w: name %q", ErrInvalidRule, r.Name)
	case r.Points < 1:
		return fmt.Errorf("%w: %s: points %d", ErrInvalidRule, r.Name, r.Points)
	case r.Max < 0:
		return fmt.Errorf("%w: %s: max %d", ErrInvalidRule, r.Name, r.Max)
	}
	switch r.Kind {
	case Fixed:
		if !r.Per.IsZero() || !r.Per.Currency().IsZero() {
			return fmt.Errorf("%w: %s: a fixed rule has no Per", ErrInvalidRule, r.Name)
		}
	case PerAmount:
		if !r.Per.IsPositive() {
			return fmt.Errorf("%w: %s: Per %v must be positive", ErrInvalidRule, r.Name, r.Per)
		}
	default:
		return fmt.Errorf("%w: %s: kind %d", ErrInvalidRule, r.Name, r.Kind)
	}
	return nil
}

// PointsFor returns the points the rule earns for a payment of amount (a
// Fixed rule ignores it; pass the zero Money).
//
// Errors: ErrInvalidRequest (a PerAmount rule with an amount of another
// currency or not positive, or a Fixed rule with an amount),
// ErrNothingEarned, ErrOverflow.
func (r EarnRule) PointsFor(amount ledger.Money) (int64, error) {
	var p int64
	switch r.Kind {
	case Fixed:
		if !amount.IsZero() {
			return 0, fmt.Errorf("%w: rule %s is fixed and takes no amount", ErrInvalidRequest, r.Name)
		}
		p = r.Points
	case PerAmount:
		if amount.Currency() != r.Per.Currency() || !amount.IsPositive() {
			return 0, fmt.Errorf("%w: rule %s earns on positive %s amounts, not %v", ErrInvalidRequest, r.Name, r.Per.Currency(), amount)
		}
		steps := amount.Units() / r.Per.Units()
		if steps == 0 {
			return 0, fmt.Errorf("%w: %s under rule %s (per %v)", ErrNothingEarned, amount, r.Name, r.Per)
		}
		hi, lo := mul(steps, r.Points)
		if hi != 0 || lo > maxInt64 {
			return 0, fmt.Errorf("%w: rule %s on %v", ErrOverflow, r.Name, amount)
		}
		p = int64(lo)
	default:
		return 0, fmt.Errorf("%w: %s: kind %d", ErrInvalidRule, r.Name, r.Kind)
	}
	if r.Max > 0 && p > r.Max {
		p = r.Max
	}
	return p, nil
}
