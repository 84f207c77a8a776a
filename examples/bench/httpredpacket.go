package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Red packets through bankd (examples/bankd), the reference service: the
// redpacket scenario's claims, each one HTTP request to a running bankd,
// to compare with the library called directly on the same store.

func init() {
	register("http-redpacket", "claims of lucky red packets through a running bankd (-http URL; users and their bearer "+
		"tokens from $BANKD_TOKENS, as bankd reads them): wallets, one group and the packets are made over HTTP up front; "+
		"with -store postgres -schema (bankd's schema) its tables are analyzed after the warm-up, as the other scenarios' are",
		func() Scenario { return &httpRedPackets{} })
}

// bankdUser is a user of bankd, known by the bearer token in
// $BANKD_TOKENS.
type bankdUser struct {
	handle, token string
	id            uuid.UUID
}

type httpRedPackets struct {
	feature // acked: claims answered 200
	base    string
	client  *http.Client
	senders []bankdUser // send the packets; never claim
	users   []bankdUser // claim
	packets []uuid.UUID // in send order
	claims  int
	next    atomic.Int64
}

func (s *httpRedPackets) Unit() string { return "claims" }

// bankdTokens reads bankd's BANKD_TOKENS ("handle=token,…").
func bankdTokens() ([]bankdUser, error) {
	var us []bankdUser
	for pair := range strings.SplitSeq(os.Getenv("BANKD_TOKENS"), ",") {
		handle, token, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		us = append(us, bankdUser{handle: handle, token: token})
	}
	slices.SortFunc(us, func(a, b bankdUser) int { return strings.Compare(a.handle, b.handle) })
	return us, nil
}

// MaxBankdGroup is bankd's group size limit (MaxGroupMembers): the
// scenario puts every user in one group.
const maxBankdGroup = 500

func (s *httpRedPackets) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	if env.Opts.HTTP == "" {
		return errors.New("http-redpacket drives a running bankd: give its URL with -http")
	}
	s.base = strings.TrimRight(env.Opts.HTTP, "/")
	s.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: env.Opts.Clients + 8, DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext}}
	all, err := bankdTokens()
	if err != nil {
		return err
	}
	nSenders := min(16, len(all)/4)
	if len(all) > maxBankdGroup || len(all)-nSenders < rpShares+1 {
		return fmt.Errorf("$BANKD_TOKENS names %d users; http-redpacket wants %d to %d", len(all), rpShares+1+4, maxBankdGroup)
	}
	s.senders, s.users = all[:nSenders], all[nSenders:]
	// The load generator cannot tell bankd's store: a guess between its
	// memory stores and PostgreSQL, unless -ops says (the packets are sent
	// over HTTP, so too many make a long setup).
	s.claims = env.estimate(2_000, 2_000)
	s.claims = (s.claims + rpShares - 1) / rpShares * rpShares
	n := s.claims / rpShares

	// Wallets, and who everyone is.
	everyone := slices.Concat(s.senders, s.users)
	err = parallel(ctx, env.Opts.Clients, len(everyone), func(ctx context.Context, i int) error {
		u := &everyone[i]
		if _, err := s.call(ctx, "PUT", "/v1/wallet", u.token, "", nil, nil); err != nil {
			return err
		}
		var me struct {
			UserID uuid.UUID `json:"user_id"`
		}
		if _, err := s.call(ctx, "GET", "/v1/me", u.token, "", nil, &me); err != nil {
			return err
		}
		u.id = me.UserID
		return nil
	})
	if err != nil {
		return err
	}
	copy(s.senders, everyone[:nSenders])
	copy(s.users, everyone[nSenders:])
	const perShare = 10 // fen, as the redpacket scenario's packets
	for i, u := range s.senders {
		fund := money(int64(perShare*rpShares*(n/nSenders+1)), env)
		if _, err := s.call(ctx, "POST", "/v1/wallet/deposits", u.token, fmt.Sprintf("bench-%d-fund-%d", env.Opts.Seed, i),
			map[string]any{"amount": fund}, nil); err != nil {
			return err
		}
	}
	var members []uuid.UUID
	for _, u := range everyone[1:] {
		members = append(members, u.id)
	}
	var g struct {
		ID uuid.UUID `json:"id"`
	}
	if _, err := s.call(ctx, "POST", "/v1/groups", s.senders[0].token, fmt.Sprintf("bench-%d-group", env.Opts.Seed),
		map[string]any{"name": "bench", "members": members}, &g); err != nil {
		return err
	}

	// The packets, up front.
	s.packets = make([]uuid.UUID, n)
	err = parallel(ctx, env.Opts.Clients, n, func(ctx context.Context, i int) error {
		var p struct {
			ID uuid.UUID `json:"id"`
		}
		_, err := s.call(ctx, "POST", "/v1/redpackets", s.senders[i%nSenders].token, fmt.Sprintf("bench-%d-packet-%d", env.Opts.Seed, i),
			map[string]any{"kind": "lucky", "group_id": g.ID, "amount": money(perShare*rpShares, env), "count": rpShares}, &p)
		s.packets[i] = p.ID
		return err
	})
	// No s.begin(): the ledger is bankd's, sealed with bankd's key, and
	// Verify reads bankd's answers instead.
	return err
}

func money(units int64, env *Env) map[string]string {
	return map[string]string{"amount": fmt.Sprintf("%d.%02d", units/100, units%100), "currency": env.Currency.Code()}
}

func (s *httpRedPackets) Client(int, *rand.Rand) Client { return s }

// slot returns the packet and share position of claim i: as
// redpacketbench's World, rpPackets packets are claimed at once, and
// consecutive claims hit different packets.
func (s *httpRedPackets) slot(i int) (pk, j int) {
	base := i / (rpPackets * rpShares) * rpPackets
	width := min(rpPackets, len(s.packets)-base)
	off := i - base*rpShares
	return base + off%width, off / width
}

// Do makes the next claim: one HTTP request, sent again (the same claim,
// which bankd answers once) while bankd answers 503 or does not answer.
func (s *httpRedPackets) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	i := int(s.next.Add(1) - 1)
	if i >= s.claims {
		return 0, errUsedUp
	}
	pk, j := s.slot(i)
	u := s.users[(pk*rpShares+j)%len(s.users)]
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.call(ctx, "POST", "/v1/redpackets/"+s.packets[pk].String()+"/claims", u.token, "", nil, nil)
		return err
	})
}

// errBankdUnavailable is bankd not answering, or answering 503: the
// request's outcome is unknown and it may be sent again.
var errBankdUnavailable = errors.New("bench: bankd unavailable")

// call sends one request and decodes a 2xx answer into out (if not nil).
// It sends it again while bankd is unavailable, counting each failure in
// Env's errors, until ctx ends; another status is an error.
func (s *httpRedPackets) call(ctx context.Context, method, path, token, key string, body, out any) (int, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	for wait := time.Millisecond; ; wait = min(2*wait, time.Second) {
		status, err := s.once(ctx, method, path, token, key, b, out)
		if !errors.Is(err, errBankdUnavailable) {
			return status, err
		}
		s.env.errors.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			s.env.unknown.Add(1)
			return 0, ctx.Err()
		}
	}
}

func (s *httpRedPackets) once(ctx context.Context, method, path, token, key string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %v", errBankdUnavailable, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	switch {
	case err != nil:
		return res.StatusCode, fmt.Errorf("%w: %v", errBankdUnavailable, err)
	case res.StatusCode == http.StatusServiceUnavailable:
		return res.StatusCode, fmt.Errorf("%w: %s %s: %s", errBankdUnavailable, method, path, data)
	case res.StatusCode/100 != 2:
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, data)
	case out != nil:
		return res.StatusCode, json.Unmarshal(data, out)
	}
	return res.StatusCode, nil
}

// Verify checks what bankd says of the packets the claims reached: each
// has as many claims as were acknowledged on it (or more, by at most the
// claims left unknown), none more than its shares.
func (s *httpRedPackets) Verify(ctx context.Context) (string, error) {
	handed := min(int(s.next.Load()), s.claims)
	window := rpPackets * rpShares
	touched := min(len(s.packets), (handed+window-1)/window*rpPackets)
	var claimed atomic.Int64
	err := parallel(ctx, s.env.Opts.Clients, touched, func(ctx context.Context, i int) error {
		var p struct {
			Claimed int `json:"claimed"`
			Count   int `json:"count"`
		}
		if _, err := s.call(ctx, "GET", "/v1/redpackets/"+s.packets[i].String(), s.senders[i%len(s.senders)].token, "", nil, &p); err != nil {
			return err
		}
		if p.Claimed > p.Count {
			return fmt.Errorf("packet %s: %d claims of %d shares", s.packets[i], p.Claimed, p.Count)
		}
		claimed.Add(int64(p.Claimed))
		return nil
	})
	acked, unknown := s.acked.Load(), s.env.unknown.Load()
	report := fmt.Sprintf("verify acknowledged=%d recorded=%d unknown=%d packets-checked=%d", acked, claimed.Load(), unknown, touched)
	if err != nil {
		return report, err
	}
	if n := claimed.Load(); n < acked || n > acked+unknown {
		return report, fmt.Errorf("bankd records %d claims, %d were acknowledged (%d unknown)", n, acked, unknown)
	}
	return report, nil
}
