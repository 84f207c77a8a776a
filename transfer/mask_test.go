package transfer

import (
	"strings"
	"testing"
	"unicode"
)

// maskCorpus holds real name shapes and what the documented convention
// shows of them.
var maskCorpus = []struct {
	name, want string
}{
	// Chinese, Japanese, Korean: the last character only.
	{"张三", "*三"},
	{"王小明", "**明"},
	{"欧阳娜娜", "***娜"}, // compound surname
	{"司马相如", "***如"},
	{"李", "*"}, // nothing of a one-character name
	{"欧阳 娜娜", "** *娜"},
	{"约翰·史密斯", "**·**斯"}, // transliterated foreign name, middle dot kept
	{"阿卜杜热合曼·买买提", "******·**提"},
	{"田中太郎", "***郎"},
	{"김민준", "**준"},
	// Latin, multi-part: the first letter of each word.
	{"John Smith", "J*** S****"},
	{"Maria da Silva Santos", "M**** d* S**** S*****"},
	{"Madonna", "M******"},
	{"Jean-Luc Picard", "J***-L** P*****"},
	{"Mary-Jane O'Neil", "M***-J*** O'N***"},
	{"Dr. No", "D*. N*"},
	// Single-letter parts stay, but never all of the name.
	{"J. R. R. Tolkien", "J. R. R. T******"},
	{"J. R.", "J. *."},
	{"A B", "A *"},
	{"X", "*"},
	// Diacritics, other scripts: a letter with its marks is one character.
	{"José Álvarez", "J*** Á******"},
	{"Jose\u0301 Alvarez", "J*** A******"}, // decomposed é
	{"Nguyễn Văn An", "N***** V** A*"},
	{"Łukasz Żółć", "Ł***** Ż***"},
	{"Ελένη Παπαδοπούλου", "Ε**** Π***********"},
	{"Иван Петров", "И*** П*****"},
	{"محمد علي", "م*** ع**"},
	// Mixed scripts: CJK words show their last character, others their first.
	{"李 John", "* J***"},
	{"John 李小龙", "J*** **龙"},
	{"Tanaka 太郎", "T***** *郎"},
	{"张Alice", "张*****"},
	// White space and width.
	{"  John \t  Smith \n", "J*** S****"},
	{"ＪＯＨＮ\u3000ＳＭＩＴＨ", "Ｊ*** Ｓ****"},
	{"", ""},
	{"   ", ""},
	{"\u3000", ""},
	// One character, whatever it is, is hidden (issue 11: a single emoji
	// or a one-character name was shown whole).
	{"😀", "*"},
	{"👍🏽", "*"},              // with a skin-tone modifier: one character
	{"👨\u200d👩\u200d👧", "*"}, // joined by zero-width joiners: one character
	{"🇨🇳", "*"},              // a flag: two regional indicators
	{"❤\ufe0f", "*"},         // with a variation selector
	{"\u0301", "*"},          // a stray combining mark
	{"e\u0301", "*"},
	{"王\u0301", "*"},
	{"7", "*"},
	// Two characters, and names of symbols or punctuation only.
	{"Al", "A*"},
	{"李四", "*四"},
	{"😀😀", "**"},
	{"A😀", "**"},
	{"😀 Smith", "* S****"},
	{"...", "***"},
	{"·", "*"},
}

func TestMaskNameCorpus(t *testing.T) {
	for _, tc := range maskCorpus {
		if got := MaskName(tc.name); got != tc.want {
			t.Errorf("MaskName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// checkMask checks the rules every masked name follows, whatever its shape.
func checkMask(t *testing.T, name string) {
	t.Helper()
	got := MaskName(name)
	if again := MaskName(name); again != got {
		t.Fatalf("MaskName(%q) not deterministic: %q then %q", name, got, again)
	}
	inRunes := map[rune]bool{}
	wordRunes := 0
	for _, r := range name {
		inRunes[r] = true
		if isNameRune(r) && !unicode.IsMark(r) && !isApostrophe(r) {
			wordRunes++
		}
	}
	for _, r := range got {
		if r != MaskChar && !inRunes[r] && r != ' ' {
			t.Fatalf("MaskName(%q) = %q introduces %q", name, got, r)
		}
	}
	if strings.TrimFunc(strings.ToValidUTF8(name, "\uFFFD"), unicode.IsSpace) != "" && !strings.ContainsRune(got, MaskChar) {
		t.Fatalf("MaskName(%q) = %q hides nothing", name, got)
	}
	if wordRunes == 0 {
		return
	}
	if strings.Count(got, string(MaskChar)) <= strings.Count(name, string(MaskChar)) {
		t.Fatalf("MaskName(%q) = %q hides nothing", name, got)
	}
	shown := 0
	for _, r := range got {
		if isNameRune(r) && !unicode.IsMark(r) && !isApostrophe(r) {
			shown++
		}
	}
	if shown >= wordRunes {
		t.Fatalf("MaskName(%q) = %q shows %d of %d letters", name, got, shown, wordRunes)
	}
}

func TestMaskNameRules(t *testing.T) {
	for _, tc := range maskCorpus {
		checkMask(t, tc.name)
	}
}

func FuzzMaskName(f *testing.F) {
	for _, tc := range maskCorpus {
		f.Add(tc.name)
	}
	f.Add("\xff\xfe")
	f.Add("\u0301\u0301a")
	f.Fuzz(checkMask)
}
