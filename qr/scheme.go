package qr

import (
	"strings"
)

// Scheme names a payment network whose merchant account information a
// payload carries.
type Scheme string

// Schemes Accounts recognises. The card networks are recognised by the
// primitive IDs EMVCo reserves for them (02-16).
const (
	SchemeOther      Scheme = "other" // a template with an unrecognised GUI, or IDs 17-25
	SchemePIX        Scheme = "pix"
	SchemePayNow     Scheme = "paynow"
	SchemePromptPay  Scheme = "promptpay"
	SchemeUnionPay   Scheme = "unionpay"
	SchemeVisa       Scheme = "visa"
	SchemeMastercard Scheme = "mastercard"
	SchemeEMVCo      Scheme = "emvco"
	SchemeDiscover   Scheme = "discover"
	SchemeAmex       Scheme = "amex"
	SchemeJCB        Scheme = "jcb"
)

// Key types of Account.KeyType.
const (
	KeyPIXEmail    = "email"
	KeyPIXPhone    = "phone"
	KeyPIXCPF      = "cpf"
	KeyPIXCNPJ     = "cnpj"
	KeyPIXRandom   = "evp" // random key (a UUID)
	KeyURL         = "url" // dynamic PIX: the payer fetches the charge from this location
	KeyMobile      = "mobile"
	KeyUEN         = "uen"         // PayNow: Singapore business registration number
	KeyNationalID  = "national-id" // PromptPay: Thai citizen or tax ID
	KeyEWallet     = "ewallet"     // PromptPay e-wallet ID
	KeyBankAccount = "bank-account"
	KeyBiller      = "biller"   // PromptPay bill payment biller ID
	KeyMerchant    = "merchant" // card networks and UnionPay: merchant information as given
)

// Account is one merchant account information data object (02-51) with its
// scheme and the key that scheme uses to address the payee.
type Account struct {
	ID      ID     `json:"id"`            // root data object ID, 26
	GUI     string `json:"gui,omitempty"` // globally unique identifier (sub-object 00) of a template; "" for a primitive
	Scheme  Scheme `json:"scheme"`
	Key     string `json:"key"`                // PIX key or URL, PayNow proxy, PromptPay ID or biller ID, card network merchant info
	KeyType string `json:"key_type,omitempty"` // one of the Key... constants, or "" when the scheme does not say
}

// Accounts returns the merchant account information data objects (02-51) in
// payload order, each with its recognised scheme.
func (p *Payload) Accounts() []Account {
	var out []Account
	for k := range p.Objects {
		o := &p.Objects[k]
		id := o.ID
		if id < 2 || id > 51 {
			continue
		}
		if id <= 25 {
			out = append(out, Account{ID: id, Scheme: primitiveScheme(id), Key: o.Value, KeyType: KeyMerchant})
			continue
		}
		out = append(out, templateAccount(o))
	}
	return out
}

// Account returns the first account of scheme s.
func (p *Payload) Account(s Scheme) (Account, bool) {
	for _, a := range p.Accounts() {
		if a.Scheme == s {
			return a, true
		}
	}
	return Account{}, false
}

// primitiveScheme maps EMVCo's reserved primitive IDs 02-25.
func primitiveScheme(id ID) Scheme {
	switch {
	case id <= 3:
		return SchemeVisa
	case id <= 5:
		return SchemeMastercard
	case id <= 8:
		return SchemeEMVCo
	case id <= 10:
		return SchemeDiscover
	case id <= 12:
		return SchemeAmex
	case id <= 14:
		return SchemeJCB
	case id <= 16:
		return SchemeUnionPay
	}
	return SchemeOther
}

// templateAccount recognises a merchant account information template by its
// GUI.
func templateAccount(o *Object) Account {
	gui, _ := lookup(o.Sub, 0)
	a := Account{ID: o.ID, GUI: gui, Scheme: SchemeOther}
	sub := func(id ID) string { v, _ := lookup(o.Sub, id); return v }
	upper := strings.ToUpper(gui)
	switch {
	case upper == "BR.GOV.BCB.PIX":
		a.Scheme = SchemePIX
		if key := sub(1); key != "" {
			a.Key, a.KeyType = key, pixKeyType(key)
		} else if url := sub(25); url != "" {
			a.Key, a.KeyType = url, KeyURL
		}
	case upper == "SG.PAYNOW":
		a.Scheme = SchemePayNow
		a.Key = sub(2)
		switch sub(1) {
		case "0":
			a.KeyType = KeyMobile
		case "2":
			a.KeyType = KeyUEN
		}
	case strings.HasPrefix(upper, promptPayRID):
		a.Scheme = SchemePromptPay
		a.Key, a.KeyType = promptPayKey(upper, sub)
	case strings.HasPrefix(upper, "A000000333"): // UnionPay's registered application provider ID
		a.Scheme = SchemeUnionPay
		a.Key, a.KeyType = firstNonGUI(o.Sub), KeyMerchant
	}
	return a
}

// promptPayKey reads the payee of a Thai QR template: A000000677010111 is a
// credit transfer to a mobile number (01), citizen/tax ID (02), e-wallet
// (03) or bank account (04); A000000677010112 a bill payment to a biller ID
// (01, with references in 02 and 03). For other PromptPay AIDs the first
// sub-object after the GUI is returned as is.
func promptPayKey(gui string, sub func(ID) string) (key, typ string) {
	switch gui {
	case "A000000677010111":
		for _, c := range [...]struct {
			id  ID
			typ string
		}{{1, KeyMobile}, {2, KeyNationalID}, {3, KeyEWallet}, {4, KeyBankAccount}} {
			if v := sub(c.id); v != "" {
				return v, c.typ
			}
		}
	case "A000000677010112":
		return sub(1), KeyBiller
	}
	for id := ID(1); id <= 4; id++ {
		if v := sub(id); v != "" {
			return v, ""
		}
	}
	return "", ""
}

func firstNonGUI(sub []Object) string {
	for _, s := range sub {
		if s.ID != 0 {
			return s.Value
		}
	}
	return ""
}

// pixKeyType classifies a PIX key the way the DICT does: e-mail, phone
// (+55...), CPF (11 digits), CNPJ (14 digits) or random key (UUID).
func pixKeyType(k string) string {
	switch {
	case strings.Contains(k, "@"):
		return KeyPIXEmail
	case strings.HasPrefix(k, "+"):
		return KeyPIXPhone
	case allDigits(k) && len(k) == 11:
		return KeyPIXCPF
	case allDigits(k) && len(k) == 14:
		return KeyPIXCNPJ
	case len(k) == 36 && strings.Count(k, "-") == 4:
		return KeyPIXRandom
	}
	return ""
}
