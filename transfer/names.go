package transfer

//go:generate go run fold_gen.go

import (
	"unicode"
	"unicode/utf8"
)

// isCJK reports whether r belongs to a script in which names are masked
// and compared character by character: Han, Hiragana, Katakana, Hangul.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// isApostrophe reports whether r is an apostrophe, which joins the parts of
// a name (O'Brien, D’Angelo) rather than separating them.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02bc', '`', '\uff07':
		return true
	}
	return false
}

// isNameRune reports whether r is part of a word of a name: letters, digits
// and combining marks.
func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// foldRune appends the comparison form of r to dst: full-width ASCII to
// ASCII, Latin letters without their diacritics (from the canonical
// decomposition, plus the letters that have none: ø, ł, đ, ß, æ, ...), and
// lower case.
func foldRune(dst []rune, r rune) []rune {
	if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
		r -= 0xFEE0
	}
	switch r {
	case 'ß', 'ẞ':
		return append(dst, 's', 's')
	case 'Æ', 'æ':
		return append(dst, 'a', 'e')
	case 'Œ', 'œ':
		return append(dst, 'o', 'e')
	case 'Þ', 'þ':
		return append(dst, 't', 'h')
	case 'Ĳ', 'ĳ':
		return append(dst, 'i', 'j')
	case 'Ø', 'ø':
		r = 'o'
	case 'Đ', 'đ', 'Ð', 'ð':
		r = 'd'
	case 'Ł', 'ł', 'Ŀ', 'ŀ':
		r = 'l'
	case 'Ħ', 'ħ':
		r = 'h'
	case 'Ŧ', 'ŧ':
		r = 't'
	case 'ı':
		r = 'i'
	}
	switch {
	case r >= 0xC0 && r <= 0x17F:
		if b := latin1Fold[r-0xC0]; b != '.' {
			r = rune(b)
		}
	case r >= 0x1E00 && r <= 0x1EFF:
		if b := latinExtAdditionalFold[r-0x1E00]; b != '.' {
			r = rune(b)
		}
	}
	return append(dst, unicode.ToLower(r))
}

// nameForm is a name prepared for comparison.
type nameForm struct {
	tokens  [][]rune // folded words, titles removed
	cjkOnly bool     // every letter is CJK
	chars   int      // letters and digits before folding (ß is one, not two)
}

// maxNameRunes bounds names accepted for verification, so the quadratic edit
// distance stays cheap. Real names are far shorter.
const maxNameRunes = 128

// parseName splits s into folded words. Combining marks on Latin letters
// are dropped (José written with a combining accent equals José and Jose);
// other marks are kept. Apostrophes are removed; every other character
// that is not a letter, digit or mark separates words.
func parseName(s string) nameForm {
	var f nameForm
	var cur []rune
	latinBase := false
	f.cjkOnly = true
	flush := func() {
		if len(cur) > 0 {
			f.tokens = append(f.tokens, cur)
			cur = nil
		}
	}
	for _, r := range s {
		switch {
		case isApostrophe(r):
		case unicode.IsMark(r):
			if !latinBase {
				cur = append(cur, r)
			}
		case isNameRune(r):
			if !isCJK(r) {
				f.cjkOnly = false
			}
			n := len(cur)
			cur = foldRune(cur, r)
			f.chars++
			latinBase = cur[n] < utf8.RuneSelf || unicode.Is(unicode.Latin, cur[n])
		default:
			flush()
			latinBase = false
		}
	}
	flush()
	// Drop leading courtesy titles ("Mr John Smith"), keeping at least one word.
	for len(f.tokens) > 1 && isTitle(f.tokens[0]) {
		f.tokens = f.tokens[1:]
	}
	if len(f.tokens) == 0 {
		f.cjkOnly = false
	}
	return f
}

func isTitle(w []rune) bool {
	switch string(w) {
	case "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame":
		return true
	}
	return false
}

// joined returns the words concatenated with sep (0 for none).
func (f nameForm) joined(sep rune) []rune {
	var out []rune
	for i, t := range f.tokens {
		if i > 0 && sep != 0 {
			out = append(out, sep)
		}
		out = append(out, t...)
	}
	return out
}

// letterCount returns the number of runes in all words.
func (f nameForm) letterCount() int {
	n := 0
	for _, t := range f.tokens {
		n += len(t)
	}
	return n
}

// editDistance is the optimal-string-alignment distance (Damerau–Levenshtein
// where a transposition of neighbours costs 1) between a and b.
func editDistance(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	// Three rows: two back for transpositions.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
