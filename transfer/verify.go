package transfer

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/socialpay/socialpay/errcode"
)

// Errors returned by VerifyName.
var (
	// ErrEmptyName means a name, or an answer to a name challenge, has no
	// letters or digits.
	ErrEmptyName = errcode.New("empty_name", errcode.Invalid, "transfer: empty name")
	// ErrNameTooLong means a name or answer is longer than 128 characters.
	ErrNameTooLong = errcode.New("name_too_long", errcode.Invalid, "transfer: name too long")
	// ErrUnknownChallenge means the Challenge value is not one defined here.
	ErrUnknownChallenge = errcode.New("unknown_challenge", errcode.Invalid, "transfer: unknown name challenge")
)

// MatchResult is the answer of the verify lookup model (in the style of the
// UK's Confirmation of Payee): the payer learns how well the name they typed
// fits the payee, never the payee's name itself.
type MatchResult int

// The zero value is NoMatch.
const (
	NoMatch    MatchResult = iota // the name does not fit
	CloseMatch                    // a typo, initials, a missing middle name, or swapped order
	Match                         // the same name, ignoring case, width, spacing, punctuation and Latin diacritics
)

func (m MatchResult) String() string {
	switch m {
	case NoMatch:
		return "no_match"
	case CloseMatch:
		return "close_match"
	case Match:
		return "match"
	}
	return fmt.Sprintf("MatchResult(%d)", int(m))
}

// Challenge is what the payer is asked to supply.
type Challenge int

// The zero value is FullName.
const (
	// FullName: the payee's whole name.
	FullName Challenge = iota
	// Surname: the family name. For Chinese names that is the first
	// character, or the first two for a compound surname (欧阳, 司马, ...);
	// for other names the last word, or several last words (da Silva Santos).
	Surname
	// FirstCharacter: the first character of the name — for a Chinese name
	// the character MaskName hides first (张 of *三).
	FirstCharacter
)

func (c Challenge) String() string {
	switch c {
	case FullName:
		return "full_name"
	case Surname:
		return "surname"
	case FirstCharacter:
		return "first_character"
	}
	return fmt.Sprintf("Challenge(%d)", int(c))
}

// VerifyName compares answer, supplied by a payer for challenge c, with
// the name registered for the payee.
//
// Both are normalized first: case, full-width forms, white space and
// punctuation are ignored, as are diacritics on Latin letters (José = Jose,
// Łukasz = Lukasz, Nguyễn = Nguyen) and leading titles (Mr, Mrs, Ms, Dr, ...).
// Simplified versus traditional Chinese characters (张 / 張) and
// transliteration (王小明 / Wang Xiaoming) are out of scope: they do not
// match.
//
// For FullName the answer is:
//   - Match if the words are the same;
//   - CloseMatch if they differ only in spacing (Mary Ann / Maryann), in
//     order (Smith John), by initials or a missing middle word (J Smith,
//     John R Smith, Maria Santos for Maria da Silva Santos — the last word
//     must be whole), or by a small edit distance: 1 for names of 5 to 9
//     letters, 2 from 10 letters; a Chinese name of three or more
//     characters may differ in one character (王晓明 for 王小明), a
//     two-character name in none;
//   - NoMatch otherwise.
//
// Surname and FirstCharacter are described at their constants; a Surname
// answer is CloseMatch when it is only the first character of a compound
// Chinese surname, a middle word of the name (Silva), or one edit away
// from a surname of five or more letters. FirstCharacter is Match or
// NoMatch.
//
// It returns an error wrapping ErrEmptyName or ErrNameTooLong (saying
// whether the registered name or the answer is at fault), or
// ErrUnknownChallenge.
func VerifyName(registered string, c Challenge, answer string) (MatchResult, error) {
	if c < FullName || c > FirstCharacter {
		return NoMatch, fmt.Errorf("transfer: verify name: %w: %d", ErrUnknownChallenge, int(c))
	}
	reg, err := verifyInput("registered name", registered)
	if err != nil {
		return NoMatch, err
	}
	ans, err := verifyInput("answer", answer)
	if err != nil {
		return NoMatch, err
	}
	switch c {
	case Surname:
		return matchSurname(reg, ans), nil
	case FirstCharacter:
		// One character, whose folded form (ß folds to ss) starts the name.
		a, first := ans.joined(0), reg.tokens[0]
		if ans.chars == 1 && len(a) <= len(first) && slices.Equal(a, first[:len(a)]) {
			return Match, nil
		}
		return NoMatch, nil
	default:
		return matchFullName(reg, ans), nil
	}
}

func verifyInput(what, s string) (nameForm, error) {
	if len(s) > maxNameRunes*utf8.UTFMax || utf8.RuneCountInString(s) > maxNameRunes {
		return nameForm{}, fmt.Errorf("transfer: verify name: %s: %w", what, ErrNameTooLong)
	}
	f := parseName(s)
	if len(f.tokens) == 0 {
		return nameForm{}, fmt.Errorf("transfer: verify name: %s: %w", what, ErrEmptyName)
	}
	return f, nil
}

// editAllowance is the edit distance a name of n letters may be off by and
// still be a close match.
func editAllowance(n int, cjk bool) int {
	switch {
	case cjk && n >= 3:
		return 1
	case cjk:
		return 0
	case n >= 10:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

func matchFullName(reg, ans nameForm) MatchResult {
	if reg.cjkOnly && ans.cjkOnly {
		r, a := reg.joined(0), ans.joined(0)
		switch {
		case slices.Equal(r, a):
			return Match
		case editDistance(r, a) <= editAllowance(len(r), true):
			return CloseMatch
		}
		return NoMatch
	}
	if slices.EqualFunc(reg.tokens, ans.tokens, slices.Equal) {
		return Match
	}
	switch {
	case slices.Equal(reg.joined(0), ans.joined(0)): // spacing only
		return CloseMatch
	case sameWords(reg.tokens, ans.tokens): // order only
		return CloseMatch
	case initialsFit(reg.tokens, ans.tokens):
		return CloseMatch
	case editDistance(reg.joined(' '), ans.joined(' ')) <= editAllowance(reg.letterCount(), false):
		return CloseMatch
	}
	return NoMatch
}

// sameWords reports whether a and b hold the same words in any order.
func sameWords(a, b [][]rune) bool {
	if len(a) != len(b) {
		return false
	}
	sortWords := func(w [][]rune) [][]rune {
		w = slices.Clone(w)
		slices.SortFunc(w, slices.Compare)
		return w
	}
	return slices.EqualFunc(sortWords(a), sortWords(b), slices.Equal)
}

// wordFits reports whether two words are equal or one is the initial of
// the other.
func wordFits(a, b []rune) bool {
	return slices.Equal(a, b) ||
		len(a) == 1 && a[0] == b[0] ||
		len(b) == 1 && b[0] == a[0]
}

// initialsFit reports whether the name with fewer (or as many) words can be
// read as the other one abbreviated: the first words fit, the last words
// are equal, and the middle words fit, in order, words of the longer
// name's middle (which may have more).
func initialsFit(a, b [][]rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) < 2 || !wordFits(a[0], b[0]) || !slices.Equal(a[len(a)-1], b[len(b)-1]) {
		return false
	}
	j := 1
	for _, w := range a[1 : len(a)-1] {
		for j < len(b)-1 && !wordFits(w, b[j]) {
			j++
		}
		if j == len(b)-1 {
			return false
		}
		j++
	}
	return true
}

func matchSurname(reg, ans nameForm) MatchResult {
	if reg.cjkOnly {
		r, a := reg.joined(0), ans.joined(0)
		n := 1
		if len(r) > 2 && isCompoundSurname(r[:2]) {
			n = 2
		}
		switch {
		case slices.Equal(a, r[:n]):
			return Match
		case n == 2 && slices.Equal(a, r[:1]):
			return CloseMatch
		}
		return NoMatch
	}
	words := reg.tokens
	first := 1 // the surname is among the words after the first,
	if len(words) == 1 {
		first = 0 // unless the name is one word.
	}
	for i := first; i < len(words); i++ {
		if slices.EqualFunc(words[i:], ans.tokens, slices.Equal) {
			return Match
		}
	}
	if len(ans.tokens) == 1 {
		a := ans.tokens[0]
		for _, w := range words[first : len(words)-1] {
			if slices.Equal(a, w) {
				return CloseMatch
			}
		}
		last := words[len(words)-1]
		if editDistance(a, last) <= editAllowance(len(last), false) && len(last) >= 5 {
			return CloseMatch
		}
	}
	return NoMatch
}

// isCompoundSurname reports whether the two characters are one of the
// common Chinese compound (two-character) surnames.
func isCompoundSurname(s []rune) bool {
	switch string(s) {
	case "欧阳", "歐陽", "司马", "司馬", "诸葛", "諸葛", "上官", "东方", "東方",
		"皇甫", "尉迟", "尉遲", "公孙", "公孫", "慕容", "令狐", "长孙", "長孫",
		"宇文", "司徒", "夏侯", "轩辕", "軒轅", "端木", "独孤", "獨孤", "南宫", "南宮",
		"西门", "西門", "百里", "呼延", "澹台", "公冶", "太史", "申屠", "闻人", "聞人",
		"赫连", "赫連", "钟离", "鍾離", "宗政", "濮阳", "濮陽", "淳于", "单于", "單于",
		"万俟", "司空", "拓跋", "第五", "左丘", "谷梁", "東郭", "东郭", "羊舌", "微生":
		return true
	}
	return false
}
