package textform_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

// The JSON form of every exported type of the ledger and the feature
// packages. The scan (scanPackages) finds every exported integer type,
// byte array type and struct type with exported fields in the packages
// below, and every exported constant of those integer types; each type it
// finds must be in exactly one of the lists that follow, and is checked
// by what that list says. A new enum value without a word, a new field
// without a snake_case JSON name, or a new type in none of the lists
// fails the test.

// module is the import path the scanned directories sit under.
const module = "github.com/socialpay/socialpay"

// scanned are the packages whose types are checked, as directories of
// the module. Conformance suites and load drivers (…test, …bench) are
// not: they are test tooling.
var scanned = []string{"ledger", "redpacket", "transfer", "transfer/qrdirectory", "qr", "campaign", "points", "collect", "cell"}

// enums read as snake_case words: each exported constant encodes as a
// JSON string holding its word and decodes back; a value that is no
// constant does not encode; an unknown word does not decode.
var enums = []reflect.Type{
	reflect.TypeFor[ledger.TransferKind](), reflect.TypeFor[ledger.TransferStatus](), reflect.TypeFor[ledger.AccountStatus](),
	reflect.TypeFor[ledger.EntryKind](), reflect.TypeFor[ledger.Side](), reflect.TypeFor[ledger.AccountEvent](),
	reflect.TypeFor[redpacket.Kind](), reflect.TypeFor[redpacket.Status](), reflect.TypeFor[redpacket.ProblemKind](),
	reflect.TypeFor[transfer.Arrival](), reflect.TypeFor[transfer.State](), reflect.TypeFor[transfer.MatchResult](),
	reflect.TypeFor[transfer.Challenge](), reflect.TypeFor[transfer.Index](),
	reflect.TypeFor[qr.Initiation](), reflect.TypeFor[qr.ProblemKind](), reflect.TypeFor[qr.TryOutcome](), reflect.TypeFor[qr.Level](),
	reflect.TypeFor[campaign.Status](),
	reflect.TypeFor[points.Kind](), reflect.TypeFor[points.Status](), reflect.TypeFor[points.RuleKind](),
	reflect.TypeFor[collect.Status](), reflect.TypeFor[collect.ShareStatus](),
	reflect.TypeFor[cell.State](),
}

// ownForms have a JSON form of their own (a string, or the account
// flags' list of words): a value encodes and decodes back.
var ownForms = []reflect.Type{
	reflect.TypeFor[ledger.AccountFlags](), reflect.TypeFor[ledger.Hash](), reflect.TypeFor[ledger.Uint128](),
	reflect.TypeFor[transfer.Day](),
	reflect.TypeFor[campaign.Seed](), reflect.TypeFor[campaign.Commitment](),
	reflect.TypeFor[points.Month](),
}

// numbers are integer types that read as JSON numbers.
var numbers = map[reflect.Type]string{
	reflect.TypeFor[qr.ID](): "an EMVCo data object ID is a number, 00-99",
}

// structs read as objects: every exported field has a JSON name, its Go
// name in snake_case (a time.Duration's with "_ns"), and a value with
// every field set encodes every name and decodes back. An embedded struct
// without a tag lends its fields (and is checked as a struct of its own).
var structs = []reflect.Type{
	reflect.TypeFor[ledger.Account](), reflect.TypeFor[ledger.Balance](), reflect.TypeFor[ledger.Entry](),
	reflect.TypeFor[ledger.Anchor](), reflect.TypeFor[ledger.Transfer](), reflect.TypeFor[ledger.VerifyReport](),
	reflect.TypeFor[ledger.CurrencyTotals](), reflect.TypeFor[ledger.MaintainReport](),

	reflect.TypeFor[redpacket.CheckReport](), reflect.TypeFor[redpacket.Claim](), reflect.TypeFor[redpacket.ClaimRequest](),
	reflect.TypeFor[redpacket.ClaimResult](), reflect.TypeFor[redpacket.Cursor](), reflect.TypeFor[redpacket.Packet](),
	reflect.TypeFor[redpacket.Problem](), reflect.TypeFor[redpacket.ReconcileReport](), reflect.TypeFor[redpacket.SendRequest](),
	reflect.TypeFor[redpacket.State](), reflect.TypeFor[redpacket.View](), reflect.TypeFor[redpacket.MaintainReport](),

	reflect.TypeFor[transfer.Binding](), reflect.TypeFor[transfer.BindRequest](), reflect.TypeFor[transfer.CheckReport](),
	reflect.TypeFor[transfer.Cursor](), reflect.TypeFor[transfer.Payee](), reflect.TypeFor[transfer.Receipt](),
	reflect.TypeFor[transfer.Recipient](), reflect.TypeFor[transfer.ReconcileReport](), reflect.TypeFor[transfer.Record](),
	reflect.TypeFor[transfer.RecordPayee](), reflect.TypeFor[transfer.Request](), reflect.TypeFor[transfer.Resolution](),
	reflect.TypeFor[transfer.ScanQuery](), reflect.TypeFor[transfer.Verification](), reflect.TypeFor[transfer.MaintainReport](),

	reflect.TypeFor[qr.Account](), reflect.TypeFor[qr.CapReservation](), reflect.TypeFor[qr.ChargeReceipt](),
	reflect.TypeFor[qr.ChargeRequest](), reflect.TypeFor[qr.CheckReport](), reflect.TypeFor[qr.CodeTry](),
	reflect.TypeFor[qr.Device](), reflect.TypeFor[qr.DeviceStatus](), reflect.TypeFor[qr.DynamicCode](),
	reflect.TypeFor[qr.Lookup](), reflect.TypeFor[qr.MerchantRecord](), reflect.TypeFor[qr.Object](),
	reflect.TypeFor[qr.PayRequest](), reflect.TypeFor[qr.Payee](), reflect.TypeFor[qr.Problem](),
	reflect.TypeFor[qr.Quote](), reflect.TypeFor[qr.Receipt](), reflect.TypeFor[qr.ReceiveCode](),
	reflect.TypeFor[qr.ReconcileReport](), reflect.TypeFor[qr.SerialRecord](), reflect.TypeFor[qr.Strikes](),
	reflect.TypeFor[qr.TryEnd](), reflect.TypeFor[qr.TryResult](), reflect.TypeFor[qr.MaintainReport](),
	reflect.TypeFor[qr.DayTotal](),

	reflect.TypeFor[campaign.Campaign](), reflect.TypeFor[campaign.Caps](), reflect.TypeFor[campaign.CreateRequest](),
	reflect.TypeFor[campaign.Cursor](), reflect.TypeFor[campaign.Player](), reflect.TypeFor[campaign.PrizeTier](),
	reflect.TypeFor[campaign.ReconcileReport](), reflect.TypeFor[campaign.State](), reflect.TypeFor[campaign.Tier](),
	reflect.TypeFor[campaign.Try](), reflect.TypeFor[campaign.TryRequest](), reflect.TypeFor[campaign.MaintainReport](),

	reflect.TypeFor[points.EarnRequest](), reflect.TypeFor[points.ExchangeRequest](), reflect.TypeFor[points.Holder](),
	reflect.TypeFor[points.Lot](), reflect.TypeFor[points.LotCursor](), reflect.TypeFor[points.Op](),
	reflect.TypeFor[points.OpCursor](), reflect.TypeFor[points.Rate](), reflect.TypeFor[points.ReconcileReport](),
	reflect.TypeFor[points.RedeemRequest](), reflect.TypeFor[points.Statement](), reflect.TypeFor[points.SweepReport](),
	reflect.TypeFor[points.Take](), reflect.TypeFor[points.MaintainReport](),

	reflect.TypeFor[collect.CreateRequest](), reflect.TypeFor[collect.Cursor](), reflect.TypeFor[collect.PayRequest](),
	reflect.TypeFor[collect.PayResult](), reflect.TypeFor[collect.Request](), reflect.TypeFor[collect.Share](),
	reflect.TypeFor[collect.State](), reflect.TypeFor[collect.MaintainReport](), reflect.TypeFor[collect.ReconcileReport](),

	reflect.TypeFor[cell.Payment](), reflect.TypeFor[cell.Cursor](), reflect.TypeFor[cell.ReconcileReport](), reflect.TypeFor[cell.MaintainReport](),
	reflect.TypeFor[cell.ClearingReport](), reflect.TypeFor[cell.ClaimRequest](), reflect.TypeFor[cell.Forward](),
	reflect.TypeFor[cell.ForwardReport](), reflect.TypeFor[cell.PacketClaim](),
}

// hidden are the struct fields in no JSON form (json:"-"), and why.
var hidden = map[string]string{
	"redpacket.Packet.Shares":       "the shares not yet claimed stay secret",
	"redpacket.Packet.PasswordHash": "a hash to test guesses against",
	"transfer.Record.RequestHash":   "a fingerprint that tells a retry from a reused key, for the store only",
	"campaign.Campaign.Draw":        "computed from the seed and schedule (NewDraw), never stored or sent",
}

// notJSON are the exported structs with exported fields that have no JSON
// form, and why.
var notJSON = map[reflect.Type]string{
	reflect.TypeFor[ledger.Options]():            "configuration",
	reflect.TypeFor[ledger.GroupCommit]():        "machinery: a Store over a Store",
	reflect.TypeFor[ledger.GroupCommitOptions](): "configuration",
	reflect.TypeFor[ledger.BatchOutcome]():       "what a store persists for the rules: store machinery",
	reflect.TypeFor[ledger.AccountState]():       "an account as the rules see it: store machinery",
	reflect.TypeFor[ledger.Result]():             "encodes only (its error as a message): see ledger's own test",
	reflect.TypeFor[ledger.TransferError]():      "an error",
	reflect.TypeFor[ledger.AccountError]():       "an error",

	reflect.TypeFor[redpacket.Config]():        "configuration",
	reflect.TypeFor[redpacket.Rules]():         "configuration",
	reflect.TypeFor[redpacket.Limits]():        "configuration",
	reflect.TypeFor[redpacket.Codes]():         "configuration",
	reflect.TypeFor[redpacket.ConflictError](): "an error",

	reflect.TypeFor[transfer.Config]():            "configuration",
	reflect.TypeFor[transfer.Limits]():            "configuration",
	reflect.TypeFor[transfer.RateConfig]():        "configuration",
	reflect.TypeFor[transfer.BucketConfig]():      "configuration",
	reflect.TypeFor[transfer.LocalRouter]():       "machinery: holds a Directory",
	reflect.TypeFor[transfer.LedgerFacts]():       "an input of the pure rules a store calls",
	reflect.TypeFor[transfer.CreateFacts]():       "an input of the pure rules a store calls",
	reflect.TypeFor[transfer.TransitionEffects](): "an output of the pure rules a store calls",
	reflect.TypeFor[transfer.LimitInput]():        "an input of the pure limit rule",
	reflect.TypeFor[transfer.CheckError]():        "an error",
	reflect.TypeFor[transfer.LimitError]():        "an error",
	reflect.TypeFor[transfer.PhoneError]():        "an error",
	reflect.TypeFor[transfer.RateLimitError]():    "an error",
	reflect.TypeFor[transfer.StateError]():        "an error",
	reflect.TypeFor[transfer.FailedError]():       "an error",
	reflect.TypeFor[qrdirectory.Directory]():      "machinery: holds a directory and a limiter",

	reflect.TypeFor[qr.Config]():            "configuration",
	reflect.TypeFor[qr.ReceiveConfig]():     "configuration",
	reflect.TypeFor[qr.PaymentCodeConfig](): "configuration",
	reflect.TypeFor[qr.Lockout]():           "configuration",
	reflect.TypeFor[qr.ImageOptions]():      "configuration",
	reflect.TypeFor[qr.Key]():               "key material: configuration",
	reflect.TypeFor[qr.Payload]():           "a parse tree with its parse errors; its text form is Encode's",
	reflect.TypeFor[qr.CodeRef]():           "a payment code as decoded, with its secret part: the server's intermediate",
	reflect.TypeFor[qr.CodeRefusal]():       "a callback's argument holding an error",
	reflect.TypeFor[qr.Error]():             "an error",
	reflect.TypeFor[qr.KeyConflictError]():  "an error",
	reflect.TypeFor[qr.CapError]():          "an error",
	reflect.TypeFor[qr.ChargeStep]():        "a store's input",
	reflect.TypeFor[qr.ChargeOutcome]():     "a store's answer holding an error",
	reflect.TypeFor[qr.ChargeDecision]():    "a rule's decision a store acts on, never kept or sent",
	reflect.TypeFor[qr.PayStep]():           "a store's input",
	reflect.TypeFor[qr.PayOutcome]():        "a store's answer holding errors",

	reflect.TypeFor[campaign.Config]():         "configuration",
	reflect.TypeFor[campaign.Rules]():          "configuration",
	reflect.TypeFor[campaign.Codes]():          "configuration",
	reflect.TypeFor[campaign.Rate]():           "configuration",
	reflect.TypeFor[campaign.LimitKey]():       "a limiter's input",
	reflect.TypeFor[campaign.TryInput]():       "a store's input",
	reflect.TypeFor[campaign.TryResult]():      "a store's answer holding an error",
	reflect.TypeFor[campaign.RateLimitError](): "an error",

	reflect.TypeFor[points.Config]():        "configuration",
	reflect.TypeFor[points.EarnRule]():      "configuration",
	reflect.TypeFor[points.ExpireRequest](): "a store's input holding a function",

	reflect.TypeFor[collect.Config]():  "configuration",
	reflect.TypeFor[collect.Rules]():   "configuration",
	reflect.TypeFor[collect.PayStep](): "a store's input holding the ledger",

	reflect.TypeFor[cell.Config](): "configuration",
	reflect.TypeFor[cell.Cell]():   "configuration: a ledger and a store",
	reflect.TypeFor[cell.Move]():   "a store's input holding the ledger",
}

// found is what the scan finds in one package.
type found struct {
	ints    map[string][]constant.Value // exported integer types and the values of their exported constants
	arrays  []string                    // exported array types
	structs []string                    // exported struct types with an exported field
}

// scanPackages type-checks each scanned package's own files (its imports
// are stubs: what the scan reads, its type declarations and constants,
// does not depend on them) and returns what it finds by qualified name
// ("github.com/…/ledger.Side").
func scanPackages(t testing.TB) map[string]found {
	t.Helper()
	out := map[string]found{}
	for _, dir := range scanned {
		bp, err := build.ImportDir(filepath.Join("..", "..", dir), 0)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range bp.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(bp.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		conf := types.Config{Importer: stubImporter{}, Error: func(error) {}}
		pkg, _ := conf.Check(module+"/"+dir, fset, files, nil)
		f := found{ints: map[string][]constant.Value{}}
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || !tn.Exported() || tn.IsAlias() {
				continue
			}
			switch u := tn.Type().Underlying().(type) {
			case *types.Basic:
				if u.Info()&types.IsInteger != 0 {
					f.ints[name] = nil
				}
			case *types.Array:
				f.arrays = append(f.arrays, name)
			case *types.Struct:
				for i := range u.NumFields() {
					if u.Field(i).Exported() {
						f.structs = append(f.structs, name)
						break
					}
				}
			}
		}
		for _, name := range scope.Names() {
			c, ok := scope.Lookup(name).(*types.Const)
			if !ok || !c.Exported() {
				continue
			}
			named, ok := c.Type().(*types.Named)
			if !ok || named.Obj().Pkg() != pkg {
				continue
			}
			if _, isInt := f.ints[named.Obj().Name()]; !isInt {
				continue
			}
			if c.Val().Kind() != constant.Int {
				t.Fatalf("%s.%s: the scan cannot evaluate it (%v)", dir, name, c.Val())
			}
			f.ints[named.Obj().Name()] = append(f.ints[named.Obj().Name()], c.Val())
		}
		out[module+"/"+dir] = f
	}
	return out
}

// stubImporter gives every import as an empty package.
type stubImporter struct{}

func (stubImporter) Import(p string) (*types.Package, error) {
	pkg := types.NewPackage(p, path.Base(p))
	pkg.MarkComplete()
	return pkg, nil
}

func qualified(t reflect.Type) string { return t.PkgPath() + "." + t.Name() }

// short is a type's name as its package's code writes it ("qr.Problem").
func short(t reflect.Type) string { return path.Base(t.PkgPath()) + "." + t.Name() }

// constants returns the exported constants of every enum and own-form
// integer type, by qualified type name.
func constants(t testing.TB) map[string][]constant.Value {
	t.Helper()
	out := map[string][]constant.Value{}
	for p, f := range scanPackages(t) {
		for name, vals := range f.ints {
			out[p+"."+name] = vals
		}
	}
	return out
}

// Every exported type the scan finds is in exactly one list, and every
// type of the lists is found: a new type needs a decision.
func TestEveryTypeHasAForm(t *testing.T) {
	listed := map[string]string{}
	add := func(list string, ts ...reflect.Type) {
		for _, ty := range ts {
			if prev, ok := listed[qualified(ty)]; ok {
				t.Errorf("%s is in %s and %s", short(ty), prev, list)
			}
			listed[qualified(ty)] = list
		}
	}
	add("enums", enums...)
	add("ownForms", ownForms...)
	add("structs", structs...)
	for ty := range numbers {
		add("numbers", ty)
	}
	for ty := range notJSON {
		add("notJSON", ty)
	}
	seen := map[string]bool{}
	for p, f := range scanPackages(t) {
		for name, vals := range f.ints {
			q := p + "." + name
			seen[q] = true
			switch list := listed[q]; {
			case list == "":
				t.Errorf("%s.%s: an integer type in no list: give it words (enums) or another form", path.Base(p), name)
			case list == "enums" && len(vals) == 0:
				t.Errorf("%s.%s: an enum without exported constants", path.Base(p), name)
			}
		}
		for _, name := range f.arrays {
			seen[p+"."+name] = true
			if listed[p+"."+name] == "" {
				t.Errorf("%s.%s: an array type in no list: give it a text form (ownForms)", path.Base(p), name)
			}
		}
		for _, name := range f.structs {
			seen[p+"."+name] = true
			if listed[p+"."+name] == "" {
				t.Errorf("%s.%s: a struct in no list: tag its fields (structs) or say why not (notJSON)", path.Base(p), name)
			}
		}
	}
	for q, list := range listed {
		if !seen[q] {
			t.Errorf("%s is in %s, but the scan did not find it", q, list)
		}
	}
}

// snakeWord is a word or JSON name: lower-case letters and digits joined
// by single underscores.
var snakeWord = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// Every exported constant of every enum encodes as a distinct snake_case
// word and decodes back; other values and other words do not.
func TestEnumWords(t *testing.T) {
	consts := constants(t)
	for _, ty := range enums {
		vals := consts[qualified(ty)]
		if len(vals) == 0 {
			t.Errorf("%s: no constants found", short(ty))
			continue
		}
		words := map[string]string{}
		var ints []int64
		for _, c := range vals {
			n, _ := constant.Int64Val(c)
			ints = append(ints, n)
			v := newInt(ty, n)
			b, err := json.Marshal(v.Interface())
			if err != nil {
				t.Errorf("%s(%d): %v", short(ty), n, err)
				continue
			}
			var word string
			if err := json.Unmarshal(b, &word); err != nil || !snakeWord.MatchString(word) {
				t.Errorf("%s(%d) encodes as %s, not a snake_case word", short(ty), n, b)
			}
			if other, dup := words[word]; dup && other != fmt.Sprint(n) {
				t.Errorf("%s: %d and %s both encode as %q", short(ty), n, other, word)
			}
			words[word] = fmt.Sprint(n)
			back := reflect.New(ty)
			if err := json.Unmarshal(b, back.Interface()); err != nil || back.Elem().Interface() != v.Interface() {
				t.Errorf("%s(%d): %s decodes as %v (%v)", short(ty), n, b, back.Elem(), err)
			}
			if text, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err != nil || string(text) != word {
				t.Errorf("%s(%d): MarshalText %q (%v), JSON %q", short(ty), n, text, err, word)
			}
		}
		// The smallest value above every constant has no word.
		none := newInt(ty, slices.Max(ints)+1)
		if b, err := json.Marshal(none.Interface()); !errors.Is(err, ledger.ErrInvalidValue) {
			t.Errorf("%s(%v) without a word encodes as %s (%v)", short(ty), none, b, err)
		}
		for _, bad := range []string{`"no_such_word"`, `""`, `"` + strings.Repeat("x", 1000) + `"`} {
			if err := json.Unmarshal([]byte(bad), reflect.New(ty).Interface()); !errors.Is(err, ledger.ErrInvalidValue) {
				t.Errorf("%s decodes %.20s: %v", short(ty), bad, err)
			}
		}
		if err := json.Unmarshal([]byte(`1`), reflect.New(ty).Interface()); err == nil {
			t.Errorf("%s decodes a number", short(ty))
		}
	}
}

func newInt(ty reflect.Type, n int64) reflect.Value {
	v := reflect.New(ty).Elem()
	if v.CanInt() {
		v.SetInt(n)
	} else {
		v.SetUint(uint64(n))
	}
	return v
}

// Every type of its own form encodes a value and decodes it back.
func TestOwnForms(t *testing.T) {
	consts := constants(t)
	for _, ty := range ownForms {
		v := reflect.New(ty).Elem()
		newFiller(consts).fill(v)
		b, err := json.Marshal(v.Interface())
		if err != nil {
			t.Errorf("%s: %v", short(ty), err)
			continue
		}
		if b[0] != '"' && b[0] != '[' {
			t.Errorf("%s encodes as %s, neither text nor a list", short(ty), b)
		}
		back := reflect.New(ty)
		if err := json.Unmarshal(b, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), v.Interface()) {
			t.Errorf("%s: %v encodes as %s, decodes as %v (%v)", short(ty), v, b, back.Elem(), err)
		}
	}
}

// Every field of every struct has its JSON name, and a value with every
// field set encodes each name and decodes back to the same value.
func TestStructNames(t *testing.T) {
	consts := constants(t)
	listed := map[reflect.Type]bool{}
	for _, ty := range structs {
		listed[ty] = true
	}
	usedHidden := map[string]bool{}
	for _, ty := range structs {
		names := checkFields(t, ty, listed, usedHidden)
		v := reflect.New(ty).Elem()
		newFiller(consts).fill(v)
		b, err := json.Marshal(v.Interface())
		if err != nil {
			t.Errorf("%s: %v", short(ty), err)
			continue
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(b, &keys); err != nil {
			t.Errorf("%s encodes as %s: %v", short(ty), b, err)
			continue
		}
		for _, n := range names {
			if _, ok := keys[n]; !ok {
				t.Errorf("%s: %s lacks %q", short(ty), b, n)
			}
		}
		if len(keys) != len(names) {
			t.Errorf("%s: %s has %d names, want %v", short(ty), b, len(keys), names)
		}
		back := reflect.New(ty)
		if err := json.Unmarshal(b, back.Interface()); err != nil {
			t.Errorf("%s: %s does not decode: %v", short(ty), b, err)
		} else if !reflect.DeepEqual(back.Elem().Interface(), v.Interface()) {
			t.Errorf("%s: %s decodes as %+v, want %+v", short(ty), b, back.Elem(), v)
		}
	}
	for f, why := range hidden {
		if !usedHidden[f] {
			t.Errorf("%s (%s) is not a hidden field", f, why)
		}
	}
}

// checkFields checks the JSON names of ty's exported fields and returns
// them, the names an embedded struct lends included.
func checkFields(t *testing.T, ty reflect.Type, listed map[reflect.Type]bool, usedHidden map[string]bool) []string {
	t.Helper()
	var names []string
	for i := range ty.NumField() {
		f := ty.Field(i)
		if !f.IsExported() {
			continue
		}
		where := short(ty) + "." + f.Name
		tag, tagged := f.Tag.Lookup("json")
		if f.Anonymous && !tagged {
			if !listed[f.Type] {
				t.Errorf("%s: embedded %s is not in structs", where, f.Type)
			}
			names = append(names, checkFields(t, f.Type, listed, usedHidden)...)
			continue
		}
		if tag == "-" {
			if hidden[where] == "" {
				t.Errorf(`%s is json:"-" but not in hidden`, where)
			}
			usedHidden[where] = true
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		want := snake(f.Name)
		if f.Type == reflect.TypeFor[time.Duration]() {
			want += "_ns"
		}
		if !tagged || name != want {
			t.Errorf("%s: JSON name %q, want %q", where, name, want)
		}
		for o := range strings.SplitSeq(opts, ",") {
			if o != "" && o != "omitempty" && o != "omitzero" {
				t.Errorf("%s: option %q", where, o)
			}
		}
		names = append(names, name)
	}
	return names
}

// snake returns a Go name in snake_case: "PacketID" is "packet_id",
// "MCC" is "mcc".
func snake(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && r[i+1] >= 'a' && r[i+1] <= 'z'
			if prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9' || prev >= 'A' && prev <= 'Z' && nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteString(strings.ToLower(string(c)))
	}
	return b.String()
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"ID": "id", "PacketID": "packet_id", "SenderAccount": "sender_account",
		"MCC": "mcc", "KeyID": "key_id", "InFlight": "in_flight", "CodeOK": "code_ok", "TTL": "ttl", "GUIText": "gui_text"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// filler sets every exported field of a value to a valid value that is
// not zero, different from field to field.
type filler struct {
	n      int
	depth  int // of slices, maps and pointers: recursive types (qr.Object) stop at 2
	consts map[string][]constant.Value
}

func newFiller(consts map[string][]constant.Value) *filler { return &filler{consts: consts} }

var (
	cny   = ledger.MustCurrency("CNY")
	epoch = time.Date(2027, 2, 5, 20, 0, 0, 0, time.UTC)
)

func (f *filler) fill(v reflect.Value) {
	f.n++
	n := f.n
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(epoch.Add(time.Duration(n) * time.Minute)))
		return
	case reflect.TypeFor[ledger.Money]():
		v.Set(reflect.ValueOf(ledger.NewMoney(int64(n)*101, cny)))
		return
	case reflect.TypeFor[ledger.Currency]():
		v.Set(reflect.ValueOf(cny))
		return
	case reflect.TypeFor[uuid.UUID]():
		v.Set(reflect.ValueOf(uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n), byte(n >> 8)})))
		return
	}
	if vals := f.consts[qualified(v.Type())]; len(vals) > 0 {
		c, _ := constant.Int64Val(vals[n%len(vals)])
		v.Set(newInt(v.Type(), c))
		return
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer:
		if f.depth == 2 {
			return
		}
		f.depth++
		defer func() { f.depth-- }()
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		f.fill(v.Index(0))
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		f.fill(k)
		f.fill(e)
		v.SetMapIndex(k, e)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if sf := v.Type().Field(i); sf.IsExported() && sf.Tag.Get("json") != "-" {
				f.fill(v.Field(i))
			}
		}
	}
}

// Any JSON that decodes into one of the types encodes back to a form that
// decodes to the same encoding again: no input panics, and what one
// decode accepts the next reads the same way. It drives every
// UnmarshalText of the enums and own forms through the structs that hold
// them.
func FuzzJSON(f *testing.F) {
	consts := constants(f)
	for _, ty := range append(slices.Clone(structs), ownForms...) {
		v := reflect.New(ty).Elem()
		newFiller(consts).fill(v)
		if b, err := json.Marshal(v.Interface()); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"kind":"lucky","status":"sold_out","total":{"amount":"18.88","currency":"CNY"},"arrival":"24h","day":"2027-02-05"}`))
	f.Add([]byte(`{"month":"2027-02","seed":"00ff","kind":"exchange_in","initiation":"dynamic","outcome":"merchant_refused"}`))
	f.Add([]byte(`"2027-13-01"`))
	all := append(slices.Clone(structs), ownForms...)
	all = append(all, enums...)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ty := range all {
			v := reflect.New(ty)
			if json.Unmarshal(data, v.Interface()) != nil {
				continue
			}
			b1, err := json.Marshal(v.Elem().Interface())
			if err != nil {
				continue // a value decoded from JSON that cannot be encoded (a zero Money's currency…) is not this test's concern
			}
			w := reflect.New(ty)
			if err := json.Unmarshal(b1, w.Interface()); err != nil {
				t.Fatalf("%s: %s decoded, encoded as %s, which does not decode: %v", short(ty), data, b1, err)
			}
			if b2, _ := json.Marshal(w.Elem().Interface()); !bytes.Equal(b1, b2) {
				t.Fatalf("%s: %s encodes as %s, then as %s", short(ty), data, b1, b2)
			}
		}
	})
}
