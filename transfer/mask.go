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
// character (a letter with its combining marks counts as one, and so does
// an emoji with its modifiers, a flag, or emoji joined by zero-width
// joiners).
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
//   - Symbols such as emoji are part of words but never shown: 😀 → *,
//     😀 Smith → * S****.
//   - If that would hide no letter (every word a single letter, as in
//     "J. R.", or A😀), the last word with a letter is hidden too: J. *.
//   - A name of one character, whatever it is, shows nothing (王 → *,
//     X → *, 😀 → *), and a name of punctuation only is hidden whole.
//
// White space is trimmed and runs of it become one space; bytes that are
// not UTF-8 become U+FFFD; an empty or all-space name returns "".
func MaskName(name string) string {
	type unit struct {
		text   string // the character and what draws as part of it
		cjk    bool
		word   bool // part of a word (a letter, digit or symbol), not a separator
		letter bool // a letter or digit
		hide   bool
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
		j = extend(name, r, j)
		// Every character is part of a word (letters, digits, symbols
		// such as emoji, a stray combining mark) except punctuation,
		// which separates words and stays.
		word := !isApostrophe(r) && !unicode.IsPunct(r)
		letter := isNameRune(r) && !unicode.IsMark(r) && !isApostrophe(r)
		units = append(units, unit{text: name[i:j], cjk: isCJK(r), word: word, letter: letter})
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
		hiddenLetters, lastWord := 0, -1 // lastWord: the last word with a letter
		for i := 0; i < len(units); {
			if !units[i].word {
				i++
				continue
			}
			j, cjk, letters := i, true, false
			for ; j < len(units) && units[j].word; j++ {
				cjk = cjk && units[j].cjk
				letters = letters || units[j].letter
			}
			show := -1
			switch {
			case cjk && j-i > 1:
				show = j - 1 // a CJK word shows its last character (a one-character one nothing),
			case !cjk:
				for k := i; k < j; k++ { // others their first letter (symbols never),
					if units[k].letter {
						show = k
						break
					}
				}
			}
			for k := i; k < j; k++ {
				if k != show {
					units[k].hide = true
					if units[k].letter {
						hiddenLetters++
					}
				}
			}
			if letters {
				lastWord = i
			}
			i = j
		}
		if hiddenLetters == 0 && lastWord >= 0 {
			// and the last word goes too if that would hide no letter.
			for k := lastWord; k < len(units) && units[k].word; k++ {
				units[k].hide = true
			}
		}
	}

	// Whatever the rules above left, never the whole name: a name of
	// punctuation only is hidden entirely.
	shown := true
	for _, u := range units {
		if u.hide {
			shown = false
			break
		}
	}
	if shown {
		for i := range units {
			units[i].hide = units[i].text != " "
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

// extend returns the end of the character that starts with r and whose
// next rune is at name[j:]: r with the runes that draw as part of it —
// combining marks and variation selectors, emoji skin-tone modifiers and
// tags, a second regional indicator of a flag, and the symbol a
// zero-width joiner joins (👨‍👩‍👧 is one character).
func extend(name string, r rune, j int) int {
	regional := isRegional(r)
	for j < len(name) {
		r2, s2 := utf8.DecodeRuneInString(name[j:])
		switch {
		case unicode.IsMark(r2), isEmojiModifier(r2), isTag(r2):
			j += s2
		case regional && isRegional(r2):
			j += s2
			regional = false // a flag is two indicators
		case r2 == zwj:
			j += s2
			if j < len(name) { // the joined symbol, with its own marks
				r3, s3 := utf8.DecodeRuneInString(name[j:])
				if unicode.IsSymbol(r3) {
					j += s3
				}
			}
		default:
			return j
		}
	}
	return j
}

const zwj = '\u200D' // zero-width joiner

func isRegional(r rune) bool      { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isEmojiModifier(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }
func isTag(r rune) bool           { return r >= 0xE0020 && r <= 0xE007F }
