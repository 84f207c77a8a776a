package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// chromium returns the path of a Chromium (Debian's package chromium:
// /usr/bin/chromium), or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestWebPage uses the demo page in headless Chromium as a person would,
// against a bankd with -demo in this process: Alice sends a lucky packet,
// Bob grabs with the keyboard (Tab to the button, Enter), Carol and Dave
// click, the shares sum to the total and the crown is on the largest, and
// Alice, late, sees sold out; Alice pays Bob's number typed two ways (now,
// then 2 h, cancelled); Bob scans Carol's receive code and pays it; the
// café charges Dave's payment code; a day's fast-forward refunds an open
// packet; the ledger panel shows every balance and Verify green. Every
// input has a label, every control is reachable by keyboard, every text
// colour has a contrast of 4.5:1 or more against its background, and the
// page logs no error and throws nothing. A screenshot of each step goes
// to testdata/artifacts/web (ignored by git).
func TestWebPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe := chromium()
	if exe == "" {
		t.Skip("Chromium is not installed (Debian: apt-get install chromium fonts-wqy-microhei; .ci/run installs them): the page's browser test did not run")
	}
	start := time.Now()
	a := newAPITest(t, Config{Demo: true, Tokens: demoPageTokens})
	b := newBrowser(t, exe)

	b.do(chromedp.Navigate(a.srv.URL + "/demo/?lang=en"))
	b.wait(`document.body.dataset.ready === 'true' && document.documentElement.dataset.inflight === '0'`)
	b.shot("ready")
	b.checkAccessible()

	// A lucky packet: ¥10.00 in three shares.
	b.do(chromedp.Click(ph("alice", `.tabs [data-tab=chat]`)),
		chromedp.SetValue(ph("alice", `.send-packet [name=amount]`), "10.00"),
		chromedp.SetValue(ph("alice", `.send-packet [name=count]`), "3"),
		chromedp.SetValue(ph("alice", `.send-packet [name=greeting]`), "恭喜发财，大吉大利"),
		chromedp.Click(ph("alice", `.send-packet [type=submit]`)))
	b.settle(`['alice', 'bob', 'carol', 'dave'].every((u) => document.querySelector('section[data-user=' + u + '] li[data-packet]'))`)
	packet := eval[string](b, `document.querySelector('section[data-user=alice] li[data-packet]').dataset.packet`)
	b.shot("packet-sent")

	// Bob grabs with the keyboard: Tab from his first screen button to
	// the grab button, then Enter.
	b.do(chromedp.Focus(ph("bob", `.tabs [data-tab=chat]`)))
	for i := 0; !eval[bool](b, `document.activeElement.matches('section[data-user=bob] li[data-packet] .grab')`); i++ {
		if i == 8 {
			t.Fatalf("8 presses of Tab did not reach Bob's grab button; focus is on %s", eval[string](b, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		b.do(chromedp.KeyEvent(kb.Tab))
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.settle(`document.querySelector('section[data-user=bob] li[data-packet] .outcome').textContent !== ''`)
	for _, u := range []string{"carol", "dave"} {
		b.do(chromedp.Click(ph(u, `li[data-packet] .grab`)))
		b.settle(fmt.Sprintf(`document.querySelector('section[data-user=%s] li[data-packet] .outcome').textContent !== ''`, u))
	}
	b.settle(`document.querySelector('section[data-user=alice] li[data-packet]').dataset.status === 'sold_out'`)
	b.shot("grabbed")

	// The shares sum to the total, the crown is on the largest, and the
	// page shows what bankd says.
	type share struct {
		User, Amount string
		Best, Crown  bool
	}
	shares := eval[[]share](b, `[...document.querySelectorAll('section[data-user=alice] li[data-packet] .claims li')].map((li) =>
		({User: li.dataset.user, Amount: li.dataset.amount, Best: li.classList.contains('best'), Crown: !!li.querySelector('.crown svg')}))`)
	view, err := a.app.packets.View(t.Context(), uuid.MustParse(packet))
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 3 || len(view.Claims) != 3 {
		t.Fatalf("shares shown %+v, bankd has %d claims", shares, len(view.Claims))
	}
	var sum, largest int64
	crowns := 0
	for i, s := range shares {
		units := cny(s.Amount).Units()
		sum += units
		largest = max(largest, units)
		if s.User != []string{"bob", "carol", "dave"}[i] || units != view.Claims[i].Amount.Units() {
			t.Fatalf("share %d shown as %+v; bankd: %v for %s", i, s, view.Claims[i].Amount, view.Claims[i].User)
		}
		if s.Best != s.Crown {
			t.Fatalf("share %+v: best luck without its crown", s)
		}
		if s.Best {
			crowns++
		}
	}
	if sum != 1000 || crowns != 1 || !shares[view.BestLuck].Best || cny(shares[view.BestLuck].Amount).Units() != largest {
		t.Fatalf("shares %+v sum to %d fen (want 1000), crowns %d, bankd's best luck is #%d", shares, sum, crowns, view.BestLuck)
	}

	// Alice taps too late.
	b.do(chromedp.Click(ph("alice", `li[data-packet] .grab`)))
	b.settle(`document.querySelector('section[data-user=alice] li[data-packet] .outcome').textContent !== ''`)
	if got := eval[string](b, `document.querySelector('section[data-user=alice] li[data-packet] .outcome').textContent`); got != "Too late: all shares are taken" {
		t.Fatalf("the late tapper sees %q", got)
	}
	b.shot("sold-out")

	// Alice pays Bob's number, typed as people type it: she sees the
	// masked name, confirms, and he has the money at once.
	b.do(chromedp.Click(ph("alice", `.tabs [data-tab=pay]`)),
		chromedp.SendKeys(ph("alice", `.lookup [name=phone]`), "138-0013-8000"),
		chromedp.Click(ph("alice", `.lookup [type=submit]`)))
	b.settle(`!document.querySelector('section[data-user=alice] .confirm').hidden`)
	if got := eval[string](b, `document.querySelector('section[data-user=alice] .confirm .masked').textContent`); got != "*三" {
		t.Fatalf("masked name %q, want *三", got)
	}
	b.shot("phone-lookup")
	bobBefore := b.balance("bob")
	b.do(chromedp.SetValue(ph("alice", `.confirm [name=amount]`), "20.00"),
		chromedp.Click(ph("alice", `.confirm [type=submit]`)))
	b.settle(`document.querySelector('section[data-user=alice] .receipts li[data-state=settled]')`)
	if got := b.balance("bob") - bobBefore; got != 2000 {
		t.Fatalf("Bob got %d fen from the phone payment, want 2000", got)
	}
	// Again with another spelling of the number, in 2 h, then cancelled.
	eval[bool](b, `(document.querySelector('section[data-user=alice] .lookup [name=phone]').value = '') === ''`)
	b.do(chromedp.SendKeys(ph("alice", `.lookup [name=phone]`), "+86 138 0013 8000"),
		chromedp.Click(ph("alice", `.lookup [type=submit]`)))
	b.settle(`!document.querySelector('section[data-user=alice] .confirm').hidden`)
	b.do(chromedp.SetValue(ph("alice", `.confirm [name=amount]`), "5.00"),
		chromedp.Click(ph("alice", `.confirm [value="2h"]`)),
		chromedp.Click(ph("alice", `.confirm [type=submit]`)))
	b.settle(`document.querySelector('section[data-user=alice] .receipts li[data-state=pending] .cancel')`)
	b.shot("phone-delayed")
	b.do(chromedp.Click(ph("alice", `.receipts li[data-state=pending] .cancel`)))
	b.settle(`document.querySelector('section[data-user=alice] .receipts li[data-state=cancelled]')`)
	if got := b.balance("bob") - bobBefore; got != 2000 {
		t.Fatalf("Bob got %d fen after the cancelled payment, want 2000", got)
	}

	// Carol shows her receive code; its image holds what the scanning
	// phone reads. Bob scans it and pays.
	b.do(chromedp.Click(ph("carol", `.tabs [data-tab=codes]`)), chromedp.Click(ph("carol", `.show-receive`)))
	b.settle(`(() => { const img = document.querySelector('section[data-user=carol] .qr-target img');
		return img.complete && img.naturalWidth > 0 && !img.closest('button').hidden; })()`)
	payload := eval[string](b, `document.querySelector('section[data-user=carol] .qr-target').dataset.payload`)
	if got := readQR(t, eval[string](b, `(() => { const img = document.querySelector('section[data-user=carol] .qr-target img');
		const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
		c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png').split(',')[1]; })()`)); got != payload || payload == "" {
		t.Fatalf("the receive code's image reads %q; the page pays %q", got, payload)
	}
	carolBefore := b.balance("carol")
	b.do(chromedp.Click(ph("bob", `.tabs [data-tab=codes]`)), chromedp.Click(ph("bob", `.scan-button`)))
	b.wait(`!document.getElementById('scan-banner').hidden && document.activeElement.matches('section[data-user=carol] .qr-target')`)
	b.shot("scanning")
	b.checkAccessible()
	b.do(chromedp.Click(ph("carol", `.qr-target`)))
	b.settle(`!document.querySelector('section[data-user=bob] .qr-pay').hidden`)
	if got := eval[string](b, `document.querySelector('section[data-user=bob] .qr-pay .payee').textContent`); !strings.Contains(got, "**梅") {
		t.Fatalf("Bob's phone shows %q for Carol's code, want her masked name **梅", got)
	}
	b.do(chromedp.SetValue(ph("bob", `.qr-pay [name=amount]`), "12.00"), chromedp.Click(ph("bob", `.qr-pay [type=submit]`)))
	b.settle(`document.querySelector('section[data-user=bob] .payments li')`)
	if got := b.balance("carol") - carolBefore; got != 1200 {
		t.Fatalf("Carol got %d fen from the QR payment, want 1200", got)
	}
	b.shot("qr-paid")

	// Dave shows his payment code; the café charges it.
	b.do(chromedp.Click(ph("dave", `.tabs [data-tab=codes]`)), chromedp.Click(ph("dave", `.show-paycode`)))
	b.settle(`/^[0-9]{18}$/.test(document.querySelector('section[data-user=dave] .code-target').dataset.code || '')`)
	daveBefore := b.balance("dave")
	b.do(chromedp.SetValue(`#shop [name=amount]`, "8.00"), chromedp.Click(`#shop [type=submit]`))
	b.wait(`!document.getElementById('scan-banner').hidden`)
	b.do(chromedp.Click(ph("dave", `.code-target`)))
	b.settle(`document.querySelector('#shop .charges li')`)
	if got, shop := daveBefore-b.balance("dave"), b.balance("shop"); got != 800 || shop != 800 {
		t.Fatalf("the charge took %d fen from Dave and the café has %d, want 800 and 800", got, shop)
	}
	b.shot("paycode-charged")

	// Dave sends a packet only Bob grabs; a day later the rest is back.
	b.do(chromedp.Click(ph("dave", `.tabs [data-tab=chat]`)),
		chromedp.SetValue(ph("dave", `.send-packet [name=amount]`), "6.00"),
		chromedp.SetValue(ph("dave", `.send-packet [name=count]`), "3"),
		chromedp.Click(ph("dave", `.send-packet [type=submit]`)))
	b.settle(`document.querySelectorAll('section[data-user=bob] li[data-packet]').length === 2`)
	second := eval[string](b, `document.querySelectorAll('section[data-user=bob] li[data-packet]')[1].dataset.packet`)
	b.do(chromedp.Click(ph("bob", `.tabs [data-tab=chat]`)), chromedp.Click(ph("bob", `li[data-packet="`+second+`"] .grab`)))
	b.settle(`document.querySelector('section[data-user=bob] li[data-packet="` + second + `"] .outcome').textContent !== ''`)
	daveBefore = b.balance("dave")
	b.do(chromedp.Click(`#ff-1d`))
	b.settle(`document.querySelector('section[data-user=dave] li[data-packet="` + second + `"]').dataset.status === 'refunded'`)
	refunded, err := a.app.packets.View(t.Context(), uuid.MustParse(second))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.balance("dave") - daveBefore; got != 600-refunded.Claims[0].Amount.Units() || got != refunded.Refund.Units() {
		t.Fatalf("Dave got %d fen back; bankd refunded %v", got, refunded.Refund)
	}
	b.shot("refunded")

	// The ledger: Verify green, the balances sum to zero, each wallet as
	// its phone shows it.
	b.do(chromedp.Click(`#ledger-refresh`))
	b.settle(`document.getElementById('verify').dataset.ok === 'true'`)
	if got := eval[string](b, `document.getElementById('ledger-total').dataset.amount`); got != "0.00" {
		t.Fatalf("the ledger's balances sum to %s", got)
	}
	rows := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#accounts tr[data-handle]')].map((tr) => [tr.dataset.handle, tr.querySelector('td').dataset.amount]))`)
	for _, h := range []string{"alice", "bob", "carol", "dave", "shop"} {
		acc, err := a.app.ledger.Account(t.Context(), walletID(userID(h), a.app.cny))
		if err != nil {
			t.Fatal(err)
		}
		if rows[h] != acc.NetMoney().Amount() || b.balance(h) != acc.Balance.Net() {
			t.Fatalf("%s: ledger panel %s, phone %d fen, bankd %v", h, rows[h], b.balance(h), acc.NetMoney())
		}
	}
	if _, err := a.app.ledger.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.shot("ledger")

	// In Chinese.
	b.do(chromedp.Click(`#lang`))
	b.wait(`document.documentElement.lang === 'zh-CN'`)
	if got := eval[string](b, `document.querySelector('section[data-user=alice] li[data-packet] .claims .crown').textContent`); got != "手气最佳" {
		t.Fatalf("the crown in Chinese reads %q", got)
	}
	if got := eval[string](b, `document.querySelector('section[data-user=alice] .receipts li[data-state=cancelled] .sub').textContent`); got != "" {
		t.Fatalf("the cancelled payment still says %q", got)
	}
	b.shot("chinese")
	b.checkAccessible()

	if problems := eval[[]string](b, `[...document.querySelectorAll('.problem')].map((p) => p.textContent).filter((s) => s)`); len(problems) > 0 {
		t.Fatalf("the page shows problems: %q", problems)
	}

	// A reload sets nothing up twice (the top-ups have their keys) and
	// brings the chat's packets back from bankd.
	before := map[string]int64{}
	for _, h := range []string{"alice", "bob", "carol", "dave", "shop"} {
		before[h] = b.balance(h)
	}
	b.do(chromedp.Navigate(a.srv.URL + "/demo/?lang=en"))
	b.wait(`document.body.dataset.ready === 'true' && document.documentElement.dataset.inflight === '0'`)
	for h, was := range before {
		if now := b.balance(h); now != was {
			t.Fatalf("%s had %d fen before the reload and %d after", h, was, now)
		}
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('section[data-user=bob] li[data-packet] .outcome')].map((o) => o.textContent)`); len(got) != 2 ||
		!strings.HasPrefix(got[0], "You got ¥") || !strings.HasPrefix(got[1], "You got ¥") {
		t.Fatalf("after the reload Bob's phone says %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('section[data-user=alice] li[data-packet="`+packet+`"] .claims li.best .crown').length`); n != 1 {
		t.Fatalf("after the reload the first packet shows %d crowns", n)
	}
	b.shot("reloaded")
	b.checkConsole()
	t.Logf("the browser test took %v; screenshots in %s", time.Since(start).Round(time.Millisecond), b.dir)
}

// ph is the CSS selector of sel within user's panel.
func ph(user, sel string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`section[data-user=%s] %s`, user, sel))
}

// readQR decodes the QR code in a base64 PNG.
func readQR(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		t.Fatalf("gozxing: %v", err)
	}
	return res.GetText()
}

// browser is a headless Chromium tab for one test.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // where the screenshots go
	n   int

	mu      sync.Mutex
	console []chromedp.ConsoleMessage // errors, warnings and exceptions
}

func newBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "artifacts", "web"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(2240, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, dir: dir}
	// The first Run starts the browser; listen from then on.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, m)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// stepTimeout bounds each wait of the test.
const stepTimeout = 20 * time.Second

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%v", err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("evaluating %s: %v", js, err)
	}
	return v
}

// wait waits until the expression is true.
func (b *browser) wait(js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(stepTimeout),
		chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		b.fail("waiting for %s: %v", js, err)
	}
}

// settle waits until the expression is true and no call to bankd is
// under way.
func (b *browser) settle(js string) {
	b.t.Helper()
	b.wait(`document.documentElement.dataset.inflight === '0' && !!(` + js + `)`)
}

// balance is a user's balance as their panel shows it, in fen.
func (b *browser) balance(user string) int64 {
	b.t.Helper()
	return cny(eval[string](b, `document.querySelector('section[data-user=`+user+`] .balance output').dataset.amount`)).Units()
}

var shotName = regexp.MustCompile(`[^a-z0-9-]+`)

func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, shotName.ReplaceAllString(name, "-")))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fail takes a screenshot and fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(b.dir, "failed.png"), img, 0o644)
	}
	b.mu.Lock()
	console := fmt.Sprint(b.console)
	b.mu.Unlock()
	b.t.Fatalf(format+"\nconsole: %s\nscreenshots in %s", append(args, console, b.dir)...)
}

// checkConsole fails on any error, warning or exception the page logged,
// but the browser's note of the one refusal the test caused on purpose
// (the late tap's 409).
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.Source == "network" && strings.Contains(m.Text, "409") && strings.HasSuffix(m.URL, "/claims") {
			continue
		}
		b.t.Errorf("console %s (%s:%d)", m, m.URL, m.Line)
	}
}

// checkAccessible checks the basics on what the page shows now: every
// input has a label and every button a name, every control can be
// reached with Tab (no positive tabindex, nothing clickable that is not a
// control), and every text's colour has a contrast of at least 4.5:1
// against its background (WCAG 2 AA), computed from the styles.
func (b *browser) checkAccessible() {
	b.t.Helper()
	type report struct {
		Unlabelled, Unreachable []string
		Low                     []string
		Texts                   int
		Pairs                   []string
		Minimum                 float64
	}
	r := eval[report](b, accessibilityJS)
	if len(r.Unlabelled) > 0 || len(r.Unreachable) > 0 || len(r.Low) > 0 || r.Texts == 0 {
		b.fail("accessibility: unlabelled %q, not reachable by keyboard %q, contrast below 4.5:1 %q (%d texts checked)",
			r.Unlabelled, r.Unreachable, r.Low, r.Texts)
	}
	b.t.Logf("contrast: %d texts in %d colour pairs, the lowest %.2f:1", r.Texts, len(r.Pairs), r.Minimum)
}

const accessibilityJS = `(() => {
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const short = (el) => el.outerHTML.slice(0, 100);
  const out = { Unlabelled: [], Unreachable: [], Low: [], Texts: 0, Pairs: [], Minimum: 21 };

  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const named = [...(el.labels || [])].some((l) => l.textContent.trim()) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) out.Unlabelled.push(short(el));
  }
  for (const el of document.querySelectorAll('button')) {
    if (!visible(el)) continue;
    const name = el.getAttribute('aria-label') || el.textContent.trim() || [...el.querySelectorAll('img')].map((i) => i.alt).join('');
    if (!name.trim()) out.Unlabelled.push(short(el));
  }
  for (const el of document.querySelectorAll('img')) {
    if (visible(el) && !el.alt) out.Unlabelled.push(short(el));
  }
  for (const el of document.querySelectorAll('[tabindex]')) {
    if (el.tabIndex > 0) out.Unreachable.push('positive tabindex: ' + short(el));
  }
  const controls = 'button, a[href], input, select, textarea, label, summary';
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el)) continue;
    if (el.matches(controls) && !el.disabled && el.tabIndex < 0 && !el.matches('label')) out.Unreachable.push(short(el));
    if (getComputedStyle(el).cursor === 'pointer' && !el.closest(controls)) out.Unreachable.push('clickable: ' + short(el));
  }

  const rgba = (s) => {
    const p = s.match(/[\d.]+/g).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a === 1) break;
    }
    return layers.reverse().reduce((under, c) => over(c, under), { r: 255, g: 255, b: 255, a: 1 });
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const pairs = new Set();
  for (const el of document.querySelectorAll('body *')) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()) || (el.matches('input') && el.value);
    if (!hasText || !visible(el) || el.closest('[disabled]')) continue;
    const bg = background(el);
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    out.Texts++;
    out.Minimum = Math.min(out.Minimum, ratio);
    const pair = getComputedStyle(el).color + ' on ' + ['r', 'g', 'b'].map((k) => Math.round(bg[k])).join(',');
    pairs.add(pair);
    if (ratio < 4.5) out.Low.push(ratio.toFixed(2) + ' ' + pair + ': ' + el.textContent.trim().slice(0, 40));
  }
  out.Pairs = [...pairs];
  return out;
})()`
