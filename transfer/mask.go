package transfer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskChar is the only character MaskName writes in place of a hidden one.
const MaskChar = '*'

// MaskName returns the form of a payee's name that the reveal lookup may
// show to a payer: enough to recognise a friend, never the whole name. It
// is deterministic and hides characters with '*' only, one '*' per hidden
// character (a letter with its combining marks counts as one).
//
// The convention:
//   - A name written only in Chinese, Japanese or Korean characters shows
//     its last character, as Chinese banks and payment apps do: 张三 → *三,
//     王小明 → **明, 欧阳娜娜 → ***娜. A one-character name shows nothing.
//   - Otherwise every word shows its first letter (as Hong Kong's FPS and
//     Singapore's PayNow show masked names): John Smith → J*** S****,
//     Maria da Silva Santos → M**** d* S**** S*****. A word of CJK
//     characters inside such a name shows its last character.
//   - Separators (spaces, '.', '-', '·', apostrophes) stay, so
//     J. R. R. Tolkien → J. R. R. T******.
//   - If that would hide nothing (every word a single letter, as in "J. R."),
//     the last word is hidden too: J. *.
//
// White space is trimmed and runs of it become one space; bytes that are
// not UTF-8 become U+FFFD; an empty or all-space name returns "".
func MaskName(name string) string {
	type unit struct {
		text string // the character and its combining marks
		cjk  bool
		word bool // part of a word (a letter or digit), not a separator
		hide bool
	}
	name = strings.TrimFunc(strings.ToValidUTF8(name, "\uFFFD"), unicode.IsSpace)
	units := make([]unit, 0, utf8.RuneCountInString(name))
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		j := i + size
		if unicode.IsSpace(r) {
			for j < len(name) {
				r2, s2 := utf8.DecodeRuneInString(name[j:])
				if !unicode.IsSpace(r2) {
					break
				}
				j += s2
			}
			units = append(units, unit{text: " "})
			i = j
			continue
		}
		for j < len(name) {
			r2, s2 := utf8.DecodeRuneInString(name[j:])
			if !unicode.IsMark(r2) {
				break
			}
			j += s2
		}
		// A combining mark with no letter before it is no letter itself.
		word := isNameRune(r) && !unicode.IsMark(r) && !isApostrophe(r)
		units = append(units, unit{text: name[i:j], cjk: isCJK(r), word: word})
		i = j
	}

	allCJK := true
	for _, u := range units {
		if u.word && !u.cjk {
			allCJK = false
			break
		}
	}
	if allCJK {
		// Show the last character only, and nothing of a one-character name.
		last, n := -1, 0
		for i := range units {
			if units[i].word {
				units[i].hide = true
				last, n = i, n+1
			}
		}
		if n > 1 {
			units[last].hide = false
		}
	} else {
		// Word by word.
		hidden, lastWord := 0, -1
		for i := 0; i < len(units); {
			if !units[i].word {
				i++
				continue
			}
			j, cjk := i, true
			for ; j < len(units) && units[j].word; j++ {
				cjk = cjk && units[j].cjk
			}
			show := i // a word shows its first letter,
			if cjk {
				show = j - 1 // a CJK word its last character,
				if j-i == 1 {
					show = -1 // and a one-character CJK word nothing.
				}
			}
			for k := i; k < j; k++ {
				if k != show {
					units[k].hide = true
					hidden++
				}
			}
			lastWord, i = i, j
		}
		if hidden == 0 {
			for k := lastWord; k < len(units) && units[k].word; k++ {
				units[k].hide = true
			}
		}
	}

	var b strings.Builder
	b.Grow(len(name))
	for _, u := range units {
		if u.hide {
			b.WriteRune(MaskChar)
		} else {
			b.WriteString(u.text)
		}
	}
	return b.String()
}
