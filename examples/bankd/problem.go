package main

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// Problem is an RFC 9457 problem detail, served as
// application/problem+json. Type is ProblemTypePrefix + Code: a client
// switches on Code (or Type), never on Detail.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	// RetryAfter is in seconds, for rate_limited (also the Retry-After
	// header).
	RetryAfter int64 `json:"retry_after,omitempty"`
}

// ProblemTypePrefix begins every problem type URI.
const ProblemTypePrefix = "urn:socialpay:problem:"

// bankd's own errors.
var (
	errUnauthenticated = errors.New("bankd: missing or unknown bearer token")
	errBadRequest      = errors.New("bankd: malformed request")
	errKeyRequired     = errors.New("bankd: Idempotency-Key header required")
	errNotFound        = errors.New("bankd: no such resource")
	errForbidden       = errors.New("bankd: not allowed to the caller")
	errUnavailable     = errors.New("bankd: shutting down")
)

// classification is one error's code and HTTP status.
type classification struct {
	err    error
	code   string
	status int
}

// classes maps errors to codes and statuses, the first match winning:
// the specific before the general (a red packet refused for the sender's
// funds is insufficient_funds, not packet_cancelled). When the library's
// errcode package lands, classify becomes errcode.Of(err) and
// Class.HTTPStatus, and this table goes.
var classes = []classification{
	{errUnauthenticated, "unauthenticated", http.StatusUnauthorized},
	{errBadRequest, "invalid_request", http.StatusBadRequest},
	{errKeyRequired, "idempotency_key_required", http.StatusBadRequest},
	{errNotFound, "not_found", http.StatusNotFound},
	{errForbidden, "forbidden", http.StatusForbidden},
	{errUnavailable, "unavailable", http.StatusServiceUnavailable},
	{ErrGroupNotFound, "group_not_found", http.StatusNotFound},

	// Idempotency keys reused for another request.
	{ErrGroupConflict, "idempotency_conflict", http.StatusConflict},
	{redpacket.ErrPacketConflict, "idempotency_conflict", http.StatusConflict},
	{transfer.ErrIdempotencyConflict, "idempotency_conflict", http.StatusConflict},
	{qr.ErrKeyReused, "idempotency_conflict", http.StatusConflict},
	{ledger.ErrIdempotencyConflict, "idempotency_conflict", http.StatusConflict},

	{transfer.ErrRateLimited, "rate_limited", http.StatusTooManyRequests},
	{qr.ErrLookupLimited, "rate_limited", http.StatusTooManyRequests},
	{qr.ErrMerchantRefused, "rate_limited", http.StatusTooManyRequests},

	// Accounts and money.
	{ledger.ErrInsufficientFunds, "insufficient_funds", http.StatusConflict},
	{ledger.ErrAccountNotFound, "account_not_found", http.StatusNotFound},
	{ledger.ErrAccountFrozen, "account_frozen", http.StatusConflict},
	{ledger.ErrAccountClosed, "account_closed", http.StatusConflict},
	{ledger.ErrTransferNotFound, "transfer_not_found", http.StatusNotFound},
	{ledger.ErrUnknownCurrency, "unknown_currency", http.StatusBadRequest},
	{ledger.ErrCurrencyMismatch, "currency_mismatch", http.StatusBadRequest},
	{transfer.ErrCurrencyMismatch, "currency_mismatch", http.StatusBadRequest},
	{redpacket.ErrUnsupportedCurrency, "currency_mismatch", http.StatusBadRequest},
	{ledger.ErrInvalidAmount, "invalid_amount", http.StatusBadRequest},
	{ledger.ErrTooManyDecimals, "invalid_amount", http.StatusBadRequest},
	{ledger.ErrAmountOverflow, "invalid_amount", http.StatusBadRequest},
	{ledger.ErrNegativeAmount, "invalid_amount", http.StatusBadRequest},
	{ledger.ErrZeroAmount, "invalid_amount", http.StatusBadRequest},
	{transfer.ErrInvalidAmount, "invalid_amount", http.StatusBadRequest},

	// Red packets.
	{redpacket.ErrShareReturned, "share_returned", http.StatusConflict},
	{redpacket.ErrPaymentPending, "payment_pending", http.StatusServiceUnavailable},
	{redpacket.ErrPacketNotFound, "packet_not_found", http.StatusNotFound},
	{redpacket.ErrSoldOut, "sold_out", http.StatusConflict},
	{redpacket.ErrExpired, "packet_expired", http.StatusConflict},
	{redpacket.ErrRefunded, "packet_refunded", http.StatusConflict},
	{redpacket.ErrPacketCancelled, "packet_cancelled", http.StatusConflict},
	{redpacket.ErrNotFunded, "packet_not_funded", http.StatusConflict},
	{redpacket.ErrNotMember, "not_member", http.StatusForbidden},
	{redpacket.ErrNotRecipient, "not_recipient", http.StatusForbidden},
	{redpacket.ErrSenderCannotGrab, "sender_cannot_grab", http.StatusForbidden},
	{redpacket.ErrWrongPassword, "wrong_password", http.StatusForbidden},
	{redpacket.ErrBadPassword, "invalid_password", http.StatusBadRequest},
	{redpacket.ErrNoShares, "no_shares", http.StatusBadRequest},
	{redpacket.ErrTooManyShares, "too_many_shares", http.StatusBadRequest},
	{redpacket.ErrShareTooSmall, "share_too_small", http.StatusBadRequest},
	{redpacket.ErrShareTooLarge, "share_too_large", http.StatusBadRequest},
	{redpacket.ErrCountExceedsGroup, "count_exceeds_group", http.StatusBadRequest},
	{redpacket.ErrIndivisible, "invalid_amount", http.StatusBadRequest},
	{redpacket.ErrUnknownKind, "invalid_request", http.StatusBadRequest},
	{redpacket.ErrInvalidRequest, "invalid_request", http.StatusBadRequest},

	// Phone payments and chat transfers.
	{transfer.ErrEmptyPhone, "invalid_phone", http.StatusBadRequest},
	{transfer.ErrNotPhoneNumber, "invalid_phone", http.StatusBadRequest},
	{transfer.ErrInvalidPhone, "invalid_phone", http.StatusBadRequest},
	{transfer.ErrNotMobile, "invalid_phone", http.StatusBadRequest},
	{transfer.ErrNotBound, "phone_not_registered", http.StatusNotFound},
	{transfer.ErrBoundToOtherHolder, "phone_bound_to_other", http.StatusConflict},
	{transfer.ErrNotHolder, "not_holder", http.StatusForbidden},
	{transfer.ErrInvalidBinding, "invalid_request", http.StatusBadRequest},
	{transfer.ErrOverTransferLimit, "over_transfer_limit", http.StatusConflict},
	{transfer.ErrOverFirstPayeeLimit, "over_first_payee_limit", http.StatusConflict},
	{transfer.ErrOverDailyLimit, "over_daily_limit", http.StatusConflict},
	{transfer.ErrInvalidToken, "invalid_token", http.StatusBadRequest},
	{transfer.ErrTokenExpired, "token_expired", http.StatusConflict},
	{transfer.ErrStaleToken, "stale_token", http.StatusConflict},
	{transfer.ErrLookupUsed, "lookup_used", http.StatusConflict},
	{transfer.ErrSelfTransfer, "self_transfer", http.StatusBadRequest},
	{transfer.ErrRecordNotFound, "transfer_not_found", http.StatusNotFound},
	{transfer.ErrNotCancellable, "not_cancellable", http.StatusConflict},
	{transfer.ErrNotChat, "not_chat", http.StatusConflict},
	{transfer.ErrArrived, "arrived", http.StatusConflict},
	{transfer.ErrAlreadySettled, "already_settled", http.StatusConflict},
	{transfer.ErrAlreadyCancelled, "already_cancelled", http.StatusConflict},
	{transfer.ErrChatExpired, "chat_expired", http.StatusConflict},
	{transfer.ErrTransferFailed, "transfer_failed", http.StatusConflict},
	{transfer.ErrEmptyName, "invalid_request", http.StatusBadRequest},
	{transfer.ErrNameTooLong, "invalid_request", http.StatusBadRequest},
	{transfer.ErrInvalidRequest, "invalid_request", http.StatusBadRequest},

	// QR codes.
	{qr.ErrInvalidCode, "invalid_payment_code", http.StatusBadRequest},
	{qr.ErrMalformedCode, "invalid_payment_code", http.StatusBadRequest},
	{qr.ErrReplay, "payment_code_used", http.StatusConflict},
	{qr.ErrChargeCap, "over_charge_cap", http.StatusConflict},
	{qr.ErrDeviceDailyCap, "over_device_daily_cap", http.StatusConflict},
	{qr.ErrDailyCap, "over_static_daily_cap", http.StatusConflict},
	{qr.ErrNotOwner, "not_owner", http.StatusForbidden},
	{qr.ErrUnknownPayee, "unknown_payee", http.StatusNotFound},
	{qr.ErrPayeeChanged, "payee_changed", http.StatusConflict},
	{qr.ErrBindingChanged, "payee_changed", http.StatusConflict},
	{qr.ErrCodePaid, "code_paid", http.StatusConflict},
	{qr.ErrUnknownCode, "code_not_found", http.StatusNotFound},
	{qr.ErrCodeExists, "code_exists", http.StatusConflict},
	{qr.ErrAmountMismatch, "amount_mismatch", http.StatusBadRequest},
	{qr.ErrPaymentAborted, "payment_aborted", http.StatusConflict},
	{qr.ErrExpired, "code_expired", http.StatusConflict},
	{qr.ErrDeviceExists, "device_exists", http.StatusConflict},
	{qr.ErrUnknownDevice, "device_not_found", http.StatusNotFound},
	{qr.ErrBadSignature, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrUnknownKey, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrNotOurs, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrUnsigned, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrBadCRC, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrTruncated, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrBadLength, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrNotNumeric, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrFormatNotFirst, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrCRCNotLast, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrDuplicate, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrPayloadTooLong, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrInvalidUTF8, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrTooLong, "invalid_request", http.StatusBadRequest},
	{qr.ErrMissing, "invalid_qr_code", http.StatusBadRequest},
	{qr.ErrInvalidValue, "invalid_request", http.StatusBadRequest},
	{ledger.ErrInvalidValue, "invalid_request", http.StatusBadRequest},
	{ledger.ErrInvalidTransfer, "invalid_request", http.StatusBadRequest},
	{ledger.ErrSameAccount, "invalid_request", http.StatusBadRequest},

	// The infrastructure: the outcome is unknown; retry with the same key.
	{postgres.ErrUnavailable, "unavailable", http.StatusServiceUnavailable},
	{postgres.ErrRetriesExhausted, "unavailable", http.StatusServiceUnavailable},
	{context.DeadlineExceeded, "unavailable", http.StatusServiceUnavailable},
	{context.Canceled, "unavailable", http.StatusServiceUnavailable},
}

// classify returns err's code and HTTP status: internal (500) for what no
// class names.
func classify(err error) (code string, status int) {
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return "internal", http.StatusInternalServerError
}

// writeProblem answers err as a problem detail. Internal errors are
// logged with the request and shown as "internal" alone.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	code, status := classify(err)
	p := Problem{Type: ProblemTypePrefix + code, Title: http.StatusText(status), Status: status, Code: code,
		Detail: err.Error(), Instance: r.URL.Path, RequestID: requestID(r.Context())}
	if status == http.StatusInternalServerError {
		p.Detail = "internal error; the request ID names it in the logs"
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("request_id", p.RequestID),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if rl := (*transfer.RateLimitError)(nil); errors.As(err, &rl) {
		p.RetryAfter = int64(math.Ceil(rl.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", itoa(p.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bankd"`)
	}
	writeJSONType(w, status, "application/problem+json", p)
}
