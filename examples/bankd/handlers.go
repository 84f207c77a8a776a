package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"bytes"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// Transfer codes bankd stamps on the ledger transfers it makes itself.
const codeDeposit = 1

func (s *Server) callerWallet(p Principal) uuid.UUID { return walletID(p.User, s.app.cny) }

func (s *Server) me(w http.ResponseWriter, r *http.Request, p Principal) error {
	writeJSON(w, http.StatusOK, meView{UserID: p.User, Handle: p.Handle, Wallet: s.callerWallet(p)})
	return nil
}

// --- Wallets and statements

func (s *Server) openWallet(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := s.app.ledger.CreateAccount(r.Context(), ledger.Account{ID: s.callerWallet(p), Currency: s.app.cny,
		Flags: ledger.DebitsMustNotExceedCredits, Metadata: map[string]string{"owner": p.User.String()}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, walletOf(a, p.User))
	return nil
}

func (s *Server) wallet(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := s.app.ledger.Account(r.Context(), s.callerWallet(p))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, walletOf(a, p.User))
	return nil
}

type moneyRequest struct {
	Amount ledger.Money `json:"amount"`
}

// deposit tops the caller's wallet up from the bank's funding account: the
// demo's stand-in for a card top-up or a bank transfer in.
func (s *Server) deposit(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req moneyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	t, err := s.app.ledger.Transfer(r.Context(), ledger.Transfer{ID: ledger.DeriveID(namespace, "deposit", p.User.String(), key),
		DebitAccountID: s.app.funding, CreditAccountID: s.callerWallet(p), Amount: req.Amount, Code: codeDeposit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, depositView{TransferID: t.ID, Amount: t.Amount, At: t.Timestamp})
	return nil
}

// MaxStatementPage bounds a statement page.
const MaxStatementPage = 200

func (s *Server) statement(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	after, err := queryUint(q.Get("after"), 0)
	if err != nil {
		return err
	}
	limit, err := queryUint(q.Get("limit"), 50)
	if err != nil || limit < 1 || limit > MaxStatementPage {
		return fmt.Errorf("%w: limit must be 1 to %d", errBadRequest, MaxStatementPage)
	}
	entries, err := s.app.ledger.History(r.Context(), s.callerWallet(p), after, int(limit))
	if err != nil {
		return err
	}
	out := statementView{Entries: make([]entryView, 0, len(entries))}
	for _, e := range entries {
		if e.TransferID == uuid.Nil {
			continue // account events (freeze, close) move no money
		}
		out.Entries = append(out.Entries, entryOf(e, s.app.cny))
	}
	if len(entries) == int(limit) {
		out.Next = entries[len(entries)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func queryUint(s string, def uint64) (uint64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a whole number", errBadRequest, s)
	}
	return n, nil
}

// --- Groups

type groupRequest struct {
	Name    string      `json:"name"`
	Members []uuid.UUID `json:"members"`
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req groupRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Name == "" || len(req.Name) > MaxGroupName || !ledger.StorableText(req.Name) {
		return fmt.Errorf("%w: a group name is 1 to %d bytes of text", errBadRequest, MaxGroupName)
	}
	members := append([]uuid.UUID{p.User}, req.Members...)
	slices.SortFunc(members, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	members = slices.Compact(members)
	if len(members) > MaxGroupMembers || slices.Contains(members, uuid.Nil) {
		return fmt.Errorf("%w: a group has 1 to %d members, none nil", errBadRequest, MaxGroupMembers)
	}
	g, err := s.app.groups.Create(r.Context(), Group{ID: ledger.DeriveID(namespace, "group", p.User.String(), key),
		Name: req.Name, Owner: p.User, Members: members, CreatedAt: ledger.Timestamp(s.app.now())})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, groupOf(g))
	return nil
}

// memberGroup returns the group if the caller is in it; to anyone else it
// does not exist.
func (s *Server) memberGroup(r *http.Request, p Principal) (Group, error) {
	id, err := pathID(r)
	if err != nil {
		return Group{}, err
	}
	g, err := s.app.groups.Group(r.Context(), id)
	if err != nil {
		return Group{}, err
	}
	ok, err := s.app.groups.IsMember(r.Context(), id, p.User)
	if err != nil {
		return Group{}, err
	}
	if !ok {
		return Group{}, errGroupNotFound
	}
	return g, nil
}

func (s *Server) group(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := s.memberGroup(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}

type memberRequest struct {
	User uuid.UUID `json:"user_id"`
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := s.memberGroup(r, p)
	if err != nil {
		return err
	}
	var req memberRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.User == uuid.Nil {
		return fmt.Errorf("%w: user_id is required", errBadRequest)
	}
	if g.Size >= MaxGroupMembers {
		return fmt.Errorf("%w: a group has at most %d members", errBadRequest, MaxGroupMembers)
	}
	if err := s.app.groups.Add(r.Context(), g.ID, req.User); err != nil {
		return err
	}
	if g, err = s.app.groups.Group(r.Context(), g.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}

// --- Red packets

type packetRequest struct {
	Kind      string       `json:"kind"`
	Group     uuid.UUID    `json:"group_id"`
	Recipient uuid.UUID    `json:"recipient"`
	Amount    ledger.Money `json:"amount"`
	Count     int          `json:"count"`
	Password  string       `json:"password"`
}

var kinds = map[string]redpacket.Kind{"lucky": redpacket.Lucky, "normal": redpacket.Normal,
	"exclusive": redpacket.Exclusive, "password": redpacket.Password}

func (s *Server) sendPacket(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req packetRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	kind, ok := kinds[req.Kind]
	if !ok {
		return fmt.Errorf("%w: kind must be lucky, normal, exclusive or password", errBadRequest)
	}
	packet, err := s.app.packets.Send(r.Context(), redpacket.SendRequest{Key: key,
		Kind: kind, Sender: p.User, SenderAccount: s.callerWallet(p), Group: req.Group, Recipient: req.Recipient,
		Amount: req.Amount, Count: req.Count, Password: req.Password})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, packetOf(packet))
	return nil
}

func (s *Server) packet(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.app.packets.View(r.Context(), id)
	if err != nil {
		return err
	}
	// A packet is seen by its sender, its recipient and its group.
	seen := v.Packet.Sender == p.User || v.Packet.Recipient == p.User
	if !seen && v.Packet.Group != uuid.Nil {
		if seen, err = s.app.groups.IsMember(r.Context(), v.Packet.Group, p.User); err != nil {
			return err
		}
	}
	if !seen {
		return fmt.Errorf("%w: %s", redpacket.ErrPacketNotFound, id)
	}
	writeJSON(w, http.StatusOK, viewOf(v))
	return nil
}

type claimRequest struct {
	Password string `json:"password"`
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req claimRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	c, err := s.app.packets.Claim(r.Context(), redpacket.ClaimRequest{Packet: id, User: p.User, Account: s.callerWallet(p), Password: req.Password})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, claimOf(c))
	return nil
}

// --- Phone payments and chat transfers

type bindRequest struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

// bindPhone binds a number to the caller's wallet. A bank binds only after
// it has verified ownership (an OTP to the number); the demo takes the
// caller's word and records now as the verification.
func (s *Server) bindPhone(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req bindRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	b, err := s.app.phones.Bind(r.Context(), transfer.BindRequest{Phone: req.Phone, Holder: p.User,
		Account: s.callerWallet(p), Name: req.Name, VerifiedAt: s.app.now()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bindingView{Phone: string(b.Phone), MaskedName: b.MaskedName, Account: b.Account, BoundAt: b.BoundAt})
	return nil
}

type resolveRequest struct {
	Phone string `json:"phone"`
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req resolveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := s.app.phones.Resolve(r.Context(), p.User, req.Phone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resolutionView{Token: res.Token, ExpiresAt: res.ExpiresAt, Phone: string(res.Phone),
		MaskedName: res.MaskedName, Institution: res.Institution})
	return nil
}

type sendRequest struct {
	Token   string       `json:"token"`
	Phone   string       `json:"phone"`
	Amount  ledger.Money `json:"amount"`
	Arrival string       `json:"arrival"`
	Memo    string       `json:"memo"`
}

var arrivals = map[string]transfer.Arrival{"": transfer.ArriveNow, "now": transfer.ArriveNow,
	"2h": transfer.Arrive2h, "24h": transfer.Arrive24h}

func (s *Server) sendTransfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req sendRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	arrival, ok := arrivals[req.Arrival]
	if !ok {
		return fmt.Errorf("%w: arrival must be now, 2h or 24h", errBadRequest)
	}
	return s.send(w, r, transfer.Request{Key: key, Payer: p.User, From: s.callerWallet(p),
		Token: req.Token, Phone: req.Phone, Amount: req.Amount, Arrival: arrival, Memo: req.Memo})
}

type chatRequest struct {
	To     uuid.UUID    `json:"to"`
	Amount ledger.Money `json:"amount"`
	Memo   string       `json:"memo"`
}

// sendChat sends money in a chat (转账): it waits for the payee to accept.
func (s *Server) sendChat(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req chatRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.To == uuid.Nil {
		return fmt.Errorf("%w: to is required", errBadRequest)
	}
	return s.send(w, r, transfer.Request{Key: key, Payer: p.User, From: s.callerWallet(p),
		To: transfer.Recipient{Holder: req.To, Account: walletID(req.To, s.app.cny)}, Amount: req.Amount,
		Arrival: transfer.ArriveOnAccept, Memo: req.Memo})
}

// send answers 201 with a settled receipt, 202 with one still pending
// (delayed or waiting for the payee).
func (s *Server) send(w http.ResponseWriter, r *http.Request, req transfer.Request) error {
	rec, err := s.app.phones.Send(r.Context(), req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if rec.State == transfer.StatePending {
		status = http.StatusAccepted
	}
	writeJSON(w, status, receiptOf(rec))
	return nil
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.onTransfer(w, r, p, s.app.phones.Get)
}

func (s *Server) cancelTransfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.onTransfer(w, r, p, s.app.phones.Cancel)
}

func (s *Server) acceptTransfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.onTransfer(w, r, p, s.app.phones.Accept)
}

func (s *Server) declineTransfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.onTransfer(w, r, p, s.app.phones.Decline)
}

func (s *Server) onTransfer(w http.ResponseWriter, r *http.Request, p Principal,
	op func(ctx context.Context, party, id uuid.UUID) (transfer.Receipt, error)) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("%w: %q", transfer.ErrRecordNotFound, r.PathValue("id"))
	}
	rec, err := op(r.Context(), p.User, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, receiptOf(rec))
	return nil
}

// --- Receive codes and QR payments

type codeRequest struct {
	Phone     string       `json:"phone"`
	Amount    ledger.Money `json:"amount"`
	Reference string       `json:"reference"`
	ExpiresIn int          `json:"expires_in"` // seconds; dynamic codes only
	City      string       `json:"city"`
}

// MaxCodeLife bounds a dynamic receive code's life.
const MaxCodeLife = 24 * time.Hour

// issueCode issues a receive code (收款码) for the caller's bound number:
// static without an amount, dynamic (one payment, with a reference) with
// one. It answers JSON, or the PNG when the request accepts image/png.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req codeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c := qr.ReceiveCode{Payee: req.Phone, Initiation: qr.Static, Currency: s.app.cny, City: req.City}
	if c.City == "" {
		c.City = "BEIJING"
	}
	if !req.Amount.IsZero() {
		life := time.Duration(req.ExpiresIn) * time.Second
		if req.ExpiresIn == 0 {
			life = 15 * time.Minute
		}
		if life <= 0 || life > MaxCodeLife {
			return fmt.Errorf("%w: expires_in must be 1 to %d seconds", errBadRequest, int(MaxCodeLife.Seconds()))
		}
		c.Initiation, c.Amount, c.Reference = qr.Dynamic, req.Amount, req.Reference
		c.Expires = s.app.now().Add(life).Truncate(time.Second)
	} else if req.Reference != "" || req.ExpiresIn != 0 {
		return fmt.Errorf("%w: a static code (no amount) has no reference or expiry", errBadRequest)
	}
	payload, err := s.app.qr.IssueAs(r.Context(), s.callerWallet(p), c)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "image/png") {
		png, err := qr.PNG(payload, qr.ImageOptions{Level: qr.LevelM, Size: 512})
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusCreated)
		w.Write(png)
		return nil
	}
	v := receiveCodeView{Payload: payload, Initiation: c.Initiation.String(), Reference: c.Reference, ExpiresAt: optTime(c.Expires)}
	v.Amount = optMoney(c.Amount)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

type previewRequest struct {
	Payload string `json:"payload"`
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req previewRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	q, err := s.app.qr.Preview(r.Context(), p.User, req.Payload)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, quoteOf(q))
	return nil
}

type payRequest struct {
	Payload string       `json:"payload"`
	Amount  ledger.Money `json:"amount"`
	Confirm string       `json:"confirm"`
}

func (s *Server) pay(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req payRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rec, err := s.app.qr.Pay(r.Context(), qr.PayRequest{User: p.User, From: s.callerWallet(p), Payload: req.Payload, Amount: req.Amount,
		Key: key, PayeeConfirm: req.Confirm})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, paymentOf(rec))
	return nil
}

// registerDevice registers the caller's phone for payment codes (付款码).
// The answer carries the device's secret, once: the phone keeps it.
func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	id := "dev-" + ledger.DeriveID(namespace, "device", p.User.String(), key).String()
	d, err := s.app.qr.RegisterDevice(r.Context(), id, s.callerWallet(p))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, deviceView{ID: d.ID, Serial: d.Serial, Secret: d.Secret, CreatedAt: d.CreatedAt})
	return nil
}

func (s *Server) device(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	d, err := s.app.qr.Store().Device(r.Context(), id)
	if err == nil && d.Account != s.callerWallet(p) {
		err = fmt.Errorf("%w: %s", qr.ErrUnknownDevice, id) // another user's device does not exist to the caller
	}
	if err != nil {
		return err
	}
	st, err := s.app.qr.DeviceStatus(r.Context(), id)
	if err != nil {
		return err
	}
	spent := st.Spent
	if spent.IsZero() {
		spent = ledger.NewMoney(0, s.app.cny)
	}
	writeJSON(w, http.StatusOK, deviceStatusView{ID: id, Revoked: st.Revoked, Locked: st.Locked, Failures: st.Failures, Spent: spent})
	return nil
}

type codeGenRequest struct {
	Serial uint64 `json:"serial"`
	Secret []byte `json:"secret"`
}

// paymentCode is the phone's side, for the demo: the code a device with
// this serial and secret shows now. A real phone computes it offline
// (qr.PaymentCodes.Generate); bankd stores nothing here.
func (s *Server) paymentCode(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req codeGenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	code, err := s.app.paycodes.Generate(qr.Device{Serial: req.Serial, Secret: req.Secret}, s.app.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": code})
	return nil
}

type chargeRequest struct {
	Code   string       `json:"code"`
	Amount ledger.Money `json:"amount"`
}

// charge is the merchant's side: the caller's wallet charges the payment
// code it scanned; the Idempotency-Key is the merchant's order ID.
func (s *Server) charge(w http.ResponseWriter, r *http.Request, p Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req chargeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rec, err := s.app.qr.Charge(r.Context(), qr.ChargeRequest{Merchant: s.callerWallet(p), Code: req.Code, Amount: req.Amount, Order: key})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, chargeView{TransferID: rec.Transfer, Payer: rec.Payer, Amount: rec.Amount, Order: rec.Order, At: rec.At})
	return nil
}
