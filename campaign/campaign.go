package campaign

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Status is where a campaign is in its life.
type Status uint8

const (
	StatusFunding   Status = iota + 1 // recorded; its budget is on its way to escrow
	StatusOpen                        // funded: takes tries from OpensAt until EndsAt or sold out
	StatusSweeping                    // closed for tries; the unclaimed budget is going back
	StatusSwept                       // the unclaimed budget is back in the marketing account
	StatusCancelled                   // never funded
)

func (s Status) String() string {
	switch s {
	case StatusFunding:
		return "funding"
	case StatusOpen:
		return "open"
	case StatusSweeping:
		return "sweeping"
	case StatusSwept:
		return "swept"
	case StatusCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Limits on what enters.
const (
	MaxNameLen      = 128  // bytes of Campaign.Name
	MaxDeviceLen    = 64   // bytes of a device ID
	MaxTriesPerUser = 1000 // the highest Caps.TriesPerUser
)

// Caps bound each user's part in a campaign.
type Caps struct {
	// TriesPerUser is how many tries a user may make in the campaign
	// (1…MaxTriesPerUser); a user's tries are numbered 1…TriesPerUser.
	TriesPerUser int `json:"tries_per_user"`
	// TriesPerDay is how many of them on one day (1…TriesPerUser).
	TriesPerDay int `json:"tries_per_day"`
	// WinsPerUser is how many prizes a user may win (1…TriesPerUser); a
	// user who has won that many is refused further tries.
	WinsPerUser int `json:"wins_per_user"`
	// DayOffset is the offset from UTC of the days TriesPerDay counts in
	// (8 h for China Standard Time), within ±14 h.
	DayOffset time.Duration `json:"day_offset_ns"`
}

// Validate checks the caps.
//
// Errors: ErrInvalidCaps.
func (c Caps) Validate() error {
	if c.TriesPerUser < 1 || c.TriesPerUser > MaxTriesPerUser || c.TriesPerDay < 1 || c.TriesPerDay > c.TriesPerUser ||
		c.WinsPerUser < 1 || c.WinsPerUser > c.TriesPerUser || c.DayOffset < -14*time.Hour || c.DayOffset > 14*time.Hour {
		return fmt.Errorf("%w: %+v", ErrInvalidCaps, c)
	}
	return nil
}

// Day returns the day number (days since 1970-01-01 in the caps' day
// offset) that t falls on.
func (c Caps) Day(t time.Time) int64 {
	s := t.Add(c.DayOffset).Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// State is the part of a campaign that tries, payments and the sweep
// change.
type State struct {
	Status  Status `json:"status"`
	Taken   int    `json:"taken"`   // slots taken by tries (the next try takes slot Taken)
	Won     int64  `json:"won"`     // the prizes of the slots taken, minor units
	Winners int    `json:"winners"` // tries that won a prize
	Paid    int    `json:"paid"`    // winning tries whose prize moved: paid, or forfeited and returned
	Settled bool   `json:"settled"` // swept, every prize paid, escrow closed
}

// Campaign is a prize campaign: a budget in its own escrow account, paid
// out slot by slot to the tries it takes.
type Campaign struct {
	ID        uuid.UUID       `json:"id"`
	Name      string          `json:"name"` // at most MaxNameLen bytes of storable text
	Currency  ledger.Currency `json:"currency"`
	Schedule  Schedule        `json:"schedule"`
	Budget    int64           `json:"budget"`    // the sum of every slot's prize, minor units
	Slots     int             `json:"slots"`     // every tier's count together
	PrizeEnd  int             `json:"prize_end"` // Draw.PrizeEnd: sold out once Taken reaches it
	Marketing uuid.UUID       `json:"marketing"` // funds the budget and gets the unclaimed rest back
	Escrow    uuid.UUID       `json:"escrow"`    // the campaign's own escrow account
	// Commitment is published from the start; Seed is the secret it
	// commits to, kept by the store and revealed once the campaign is
	// swept.
	Commitment Commitment `json:"commitment"`
	Seed       Seed       `json:"seed,omitzero"`
	OpensAt    time.Time  `json:"opens_at"`
	EndsAt     time.Time  `json:"ends_at"`
	Caps       Caps       `json:"caps"`
	CreatedAt  time.Time  `json:"created_at"`
	State

	// Draw is computed from Seed and Schedule (NewDraw), never stored. A
	// store sets it when it loads a campaign (it never changes, so a store
	// may keep it per campaign ID); Take needs it.
	Draw *Draw `json:"-"`
}

// SoldOut reports whether every prize has been won.
func (c *Campaign) SoldOut() bool { return c.Taken >= c.PrizeEnd }

// Refund returns the unclaimed budget the sweep returns to the marketing
// account: the budget less the prizes of the slots taken.
func (c *Campaign) Refund() int64 { return c.Budget - c.Won }

// Validate checks a campaign's invariants, its Draw included (which it
// computes when nil): what a store checks before recording one.
//
// Errors: ErrInvalidCampaign.
func (c *Campaign) Validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: campaign %s: %s", ErrInvalidCampaign, c.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ID == uuid.Nil || c.Marketing == uuid.Nil || c.Escrow == uuid.Nil || c.Marketing == c.Escrow:
		return fail("missing or equal IDs")
	case len(c.Name) > MaxNameLen || !ledger.StorableText(c.Name) || !utf8.ValidString(c.Name):
		return fail("name")
	case c.Currency.IsZero():
		return fail("no currency")
	case !c.EndsAt.After(c.OpensAt):
		return fail("ends %v, not after it opens %v", c.EndsAt, c.OpensAt)
	case c.Commitment != Commit(c.Seed):
		return fail("commitment is not the seed's")
	}
	if err := c.Caps.Validate(); err != nil {
		return fail("%v", err)
	}
	budget, err := c.Schedule.Budget()
	if err != nil {
		return fail("%v", err)
	}
	if budget != c.Budget {
		return fail("budget %d, schedule sums to %d", c.Budget, budget)
	}
	if c.Draw == nil {
		if c.Draw, err = NewDraw(c.Seed, c.Schedule); err != nil {
			return fail("%v", err)
		}
	}
	st := &c.State
	switch {
	case c.Draw.Slots() != c.Slots || c.Draw.PrizeEnd() != c.PrizeEnd:
		return fail("slots %d and prize end %d, the draw has %d and %d", c.Slots, c.PrizeEnd, c.Draw.Slots(), c.Draw.PrizeEnd())
	case st.Status < StatusFunding || st.Status > StatusCancelled:
		return fail("status %v", st.Status)
	case st.Taken < 0 || st.Taken > c.PrizeEnd || st.Won < 0 || st.Won > c.Budget ||
		st.Winners < 0 || st.Winners > st.Taken || st.Paid < 0 || st.Paid > st.Winners:
		return fail("state %+v", *st)
	case st.Settled && (st.Status != StatusSwept || st.Paid != st.Winners):
		return fail("settled in state %+v", *st)
	}
	return nil
}

// Player is one user's part in one campaign, as the caps count it.
type Player struct {
	Tries    int   `json:"tries"`     // tries made: the number of the last one
	Day      int64 `json:"day"`       // the day of the last try (Caps.Day)
	DayTries int   `json:"day_tries"` // tries made on Day
	Wins     int   `json:"wins"`      // tries that won
}

// Try is one accepted try: user's Seq-th, which took slot Slot and won
// that slot's Prize (0: no prize).
type Try struct {
	Campaign  uuid.UUID `json:"campaign"`
	User      uuid.UUID `json:"user"`
	Seq       int       `json:"seq"`     // the user's try number: (Campaign, User, Seq) is the try's key
	Account   uuid.UUID `json:"account"` // the wallet a prize is paid to
	Slot      int       `json:"slot"`
	Prize     int64     `json:"prize"` // minor units; 0 = no prize
	At        time.Time `json:"at"`
	Paid      bool      `json:"paid"`      // the prize moved: paid to Account, or forfeited (returned to the marketing account)
	Forfeited bool      `json:"forfeited"` // the prize went back to the marketing account: the wallet could not take it
}

// Won reports whether the try won a prize.
func (t *Try) Won() bool { return t.Prize > 0 }

// Take is the rule of a try: the campaign, in its current state, takes
// user's try number seq at time now, given the user's Player (which
// it updates), and hands it the next slot and its prize. The store calls
// it with the campaign and the player locked, after finding no recorded
// try with the same key (a retry gets the recorded one).
//
// Errors, in this order: ErrNotFunded, ErrCancelled, ErrClosed (swept or
// sweeping), ErrNotOpen (now before OpensAt), ErrEnded (now at or after
// EndsAt), ErrSoldOut, ErrTryOutOfOrder (seq is not p.Tries+1),
// ErrUserCap, ErrDailyCap, ErrWinCap, ErrInvalidCampaign (no Draw).
func (c *Campaign) Take(p *Player, user, account uuid.UUID, seq int, now time.Time) (Try, error) {
	switch c.Status {
	case StatusFunding:
		return Try{}, fmt.Errorf("campaign %s: %w", c.ID, ErrNotFunded)
	case StatusCancelled:
		return Try{}, fmt.Errorf("campaign %s: %w", c.ID, ErrCancelled)
	case StatusSweeping, StatusSwept:
		return Try{}, fmt.Errorf("campaign %s: %w", c.ID, ErrClosed)
	}
	if now.Before(c.OpensAt) {
		return Try{}, fmt.Errorf("campaign %s: %w: opens %v", c.ID, ErrNotOpen, c.OpensAt)
	}
	if !now.Before(c.EndsAt) {
		return Try{}, fmt.Errorf("campaign %s: %w: ended %v", c.ID, ErrEnded, c.EndsAt)
	}
	if c.SoldOut() {
		return Try{}, fmt.Errorf("campaign %s: %w", c.ID, ErrSoldOut)
	}
	if err := c.Caps.admit(p, seq, now); err != nil {
		return Try{}, fmt.Errorf("campaign %s: try %d of user %s: %w", c.ID, seq, user, err)
	}
	if c.Draw == nil || c.Draw.Slots() != c.Slots {
		return Try{}, fmt.Errorf("%w: campaign %s has no draw", ErrInvalidCampaign, c.ID)
	}
	slot := c.Taken
	t := Try{Campaign: c.ID, User: user, Seq: seq, Account: account, Slot: slot, Prize: c.Schedule[c.Draw.Tier(slot)].Prize, At: now}
	c.Taken++
	c.Won += t.Prize
	day := c.Caps.Day(now)
	if p.Day != day || p.Tries == 0 {
		p.Day, p.DayTries = day, 0
	}
	p.Tries, p.DayTries = seq, p.DayTries+1
	if t.Won() {
		c.Winners++
		p.Wins++
	}
	return t, nil
}

// admit checks a user's next try against the caps.
func (c Caps) admit(p *Player, seq int, now time.Time) error {
	if seq != p.Tries+1 {
		return fmt.Errorf("%w: %d, next is %d", ErrTryOutOfOrder, seq, p.Tries+1)
	}
	if seq > c.TriesPerUser {
		return fmt.Errorf("%w: %d tries, cap %d", ErrUserCap, p.Tries, c.TriesPerUser)
	}
	if p.Tries > 0 && p.Day == c.Day(now) && p.DayTries >= c.TriesPerDay {
		return fmt.Errorf("%w: %d tries today, cap %d", ErrDailyCap, p.DayTries, c.TriesPerDay)
	}
	if p.Wins >= c.WinsPerUser {
		return fmt.Errorf("%w: %d wins, cap %d", ErrWinCap, p.Wins, c.WinsPerUser)
	}
	return nil
}

// Open applies funding → open: the budget reached escrow. Opening an open
// (or later) campaign changes nothing.
//
// Errors: ErrCancelled.
func (c *Campaign) Open() error {
	switch c.Status {
	case StatusFunding:
		c.Status = StatusOpen
	case StatusCancelled:
		return fmt.Errorf("campaign %s: %w", c.ID, ErrCancelled)
	}
	return nil
}

// Cancel applies funding → cancelled: the budget never came. Cancelling a
// cancelled campaign changes nothing.
//
// Errors: ErrAlreadyFunded.
func (c *Campaign) Cancel() error {
	switch c.Status {
	case StatusFunding:
		c.Status = StatusCancelled
	case StatusCancelled:
	default:
		return fmt.Errorf("campaign %s: %w", c.ID, ErrAlreadyFunded)
	}
	return nil
}

// MarkPaid records that winning try t's prize moved (paid, or forfeited
// and returned). It reports false when t was already marked.
func (c *Campaign) MarkPaid(t *Try, forfeited bool) bool {
	if t.Paid || !t.Won() {
		return false
	}
	t.Paid, t.Forfeited = true, forfeited
	c.Paid++
	return true
}

// BeginSweep closes an open campaign for tries at time now, once it has
// ended (now at or after EndsAt) or sold out, and fixes the refund:
// Refund() is then what goes back to the marketing account. Calling it on
// a campaign already sweeping or swept changes nothing, so concurrent
// sweepers agree on one refund.
//
// Errors: ErrNotFunded, ErrCancelled, ErrNotEnded.
func (c *Campaign) BeginSweep(now time.Time) error {
	switch c.Status {
	case StatusFunding:
		return fmt.Errorf("campaign %s: %w", c.ID, ErrNotFunded)
	case StatusCancelled:
		return fmt.Errorf("campaign %s: %w", c.ID, ErrCancelled)
	case StatusSweeping, StatusSwept:
		return nil
	}
	if now.Before(c.EndsAt) && !c.SoldOut() {
		return fmt.Errorf("campaign %s: %w: ends %v", c.ID, ErrNotEnded, c.EndsAt)
	}
	c.Status = StatusSweeping
	return nil
}

// FinishSweep records that the refund is on the ledger: sweeping → swept.
// Finishing a swept campaign changes nothing.
//
// Errors: ErrNotSweeping.
func (c *Campaign) FinishSweep() error {
	switch c.Status {
	case StatusSweeping:
		c.Status = StatusSwept
	case StatusSwept:
	default:
		return fmt.Errorf("campaign %s: %w (%v)", c.ID, ErrNotSweeping, c.Status)
	}
	return nil
}

// Complete reports whether the campaign is swept with every prize moved:
// its escrow account then holds exactly zero and may be closed.
func (s State) Complete() bool { return s.Status == StatusSwept && s.Paid == s.Winners }

// NeedsWork reports whether Reconcile or a sweep has anything left to do.
func (s State) NeedsWork() bool { return s.Status != StatusCancelled && !s.Settled }

// Settle records that the complete campaign's escrow account is closed.
// Settling a settled campaign changes nothing.
//
// Errors: ErrNotFinished.
func (c *Campaign) Settle() error {
	if !c.Complete() {
		return fmt.Errorf("campaign %s: %w (%v, %d of %d prizes paid)", c.ID, ErrNotFinished, c.Status, c.Paid, c.Winners)
	}
	c.Settled = true
	return nil
}
