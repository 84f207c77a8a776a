package transfer

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyName(t *testing.T) {
	const maria = "Maria da Silva Santos"
	tests := []struct {
		registered string
		c          Challenge
		answer     string
		want       MatchResult
	}{
		// Full name: the same name, written differently.
		{"John Smith", FullName, "John Smith", Match},
		{"John Smith", FullName, "john smith", Match},
		{"John Smith", FullName, "  JOHN   SMITH ", Match},
		{"John Smith", FullName, "ＪＯＨＮ　ＳＭＩＴＨ", Match}, // full width
		{"John Smith", FullName, "Mr John Smith", Match},
		{"Dr. John Smith", FullName, "John Smith", Match},
		{"José Álvarez", FullName, "Jose Alvarez", Match},
		{"Jose\u0301 Alvarez", FullName, "José Álvarez", Match}, // decomposed vs precomposed
		{"Łukasz Żółć", FullName, "Lukasz Zolc", Match},
		{"Nguyễn Văn An", FullName, "Nguyen Van An", Match},
		{"Jürgen Straße", FullName, "Jurgen Strasse", Match},
		{"Søren Ærø", FullName, "Soren Aero", Match},
		{"Seán O'Brien", FullName, "Sean OBrien", Match},
		{"Seán O’Brien", FullName, "Sean O'Brien", Match}, // typographic apostrophe
		{"Jean-Luc Picard", FullName, "Jean Luc Picard", Match},
		{"J. R. R. Tolkien", FullName, "J R R Tolkien", Match},
		{"王小明", FullName, "王小明", Match},
		{"王小明", FullName, "王 小明", Match},
		{"约翰·史密斯", FullName, "约翰史密斯", Match},
		{"김민준", FullName, "김민준", Match},
		// Full name: close.
		{"Mary Ann Jones", FullName, "Maryann Jones", CloseMatch}, // spacing
		{"John Smith", FullName, "Smith John", CloseMatch},        // order
		{"John Smith", FullName, "SMITH, John", CloseMatch},
		{"John Smith", FullName, "J Smith", CloseMatch}, // initial
		{"John Smith", FullName, "J. Smith", CloseMatch},
		{"John Ronald Smith", FullName, "John R Smith", CloseMatch},
		{"John Ronald Smith", FullName, "John Smith", CloseMatch}, // missing middle name
		{maria, FullName, "Maria Santos", CloseMatch},
		{maria, FullName, "M Silva Santos", CloseMatch},
		{"J. R. R. Tolkien", FullName, "John Ronald Reuel Tolkien", CloseMatch},
		{"John Smith", FullName, "Jon Smith", CloseMatch},                     // one edit, 9 letters
		{"John Smith", FullName, "John Smtih", CloseMatch},                    // transposition
		{"John Smith", FullName, "John Smitth", CloseMatch},                   // one extra letter
		{"Christopher Robinson", FullName, "Christophr Robinsen", CloseMatch}, // two edits, 19 letters
		{"王小明", FullName, "王晓明", CloseMatch},                                  // one character, three-character name
		{"欧阳娜娜", FullName, "欧阳娜", CloseMatch},                                 // one character missing
		// Full name: no.
		{"John Smith", FullName, "Jane Smith", NoMatch},    // two edits, 9 letters
		{"John Smith", FullName, "John Smithers", NoMatch}, // three edits
		{"John Smith", FullName, "J S", NoMatch},           // the last word must be whole
		{"John Smith", FullName, "Smith", NoMatch},
		{"John Smith", FullName, "Mary Jones", NoMatch},
		{"Li Na", FullName, "Li Ma", NoMatch}, // four letters: no edit allowed
		{"Christopher Robinson", FullName, "Christofer Robbinsen", NoMatch},
		{"张三", FullName, "张山", NoMatch}, // two characters: no edit allowed
		{"张三", FullName, "李四", NoMatch},
		{"王小明", FullName, "王大名", NoMatch},
		{"王小明", FullName, "Wang Xiaoming", NoMatch}, // transliteration: out of scope
		{"張三", FullName, "张三", NoMatch},             // traditional vs simplified: out of scope
		// Surname.
		{"张三", Surname, "张", Match},
		{"张三", Surname, "李", NoMatch},
		{"王小明", Surname, "王", Match},
		{"王小明", Surname, "王小", NoMatch},
		{"欧阳娜娜", Surname, "欧阳", Match}, // compound surname
		{"欧阳娜娜", Surname, "欧", CloseMatch},
		{"司马相如", Surname, "司马", Match},
		{"歐陽娜娜", Surname, "歐陽", Match}, // traditional characters
		{"John Smith", Surname, "Smith", Match},
		{"John Smith", Surname, "SMITH", Match},
		{"Mr John Smith", Surname, "smith", Match},
		{"John Smith", Surname, "Smyth", CloseMatch},
		{"John Smith", Surname, "John", NoMatch},
		{"John Smith", Surname, "John Smith", NoMatch},
		{maria, Surname, "Santos", Match},
		{maria, Surname, "Silva Santos", Match},
		{maria, Surname, "da Silva Santos", Match},
		{maria, Surname, "Silva", CloseMatch}, // a middle word
		{maria, Surname, "Maria", NoMatch},
		{"Madonna", Surname, "Madonna", Match}, // one-word name
		{"Ann Lee", Surname, "Li", NoMatch},    // too short for an edit
		// First character.
		{"张三", FirstCharacter, "张", Match},
		{"欧阳娜娜", FirstCharacter, "欧", Match},
		{"张三", FirstCharacter, "李", NoMatch},
		{"张三", FirstCharacter, "张三", NoMatch},
		{"John Smith", FirstCharacter, "j", Match},
		{"Mr John Smith", FirstCharacter, "J", Match},
		{"Émile Zola", FirstCharacter, "E", Match},
		{"John Smith", FirstCharacter, "S", NoMatch},
		{"Ærø Jensen", FirstCharacter, "Æ", Match},
		{"Ærø Jensen", FirstCharacter, "AE", NoMatch}, // two characters
		{"Straße", FirstCharacter, "s", Match},
	}
	for _, tc := range tests {
		got, err := VerifyName(tc.registered, tc.c, tc.answer)
		if err != nil || got != tc.want {
			t.Errorf("VerifyName(%q, %v, %q) = %v, %v; want %v", tc.registered, tc.c, tc.answer, got, err, tc.want)
		}
	}
}

func TestVerifyNameErrors(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		registered string
		c          Challenge
		answer     string
		want       error
		where      string
	}{
		{"", FullName, "John", ErrEmptyName, "registered name"},
		{"John", FullName, "", ErrEmptyName, "answer"},
		{"John", Surname, " .-' ", ErrEmptyName, "answer"},
		{long, FullName, "John", ErrNameTooLong, "registered name"},
		{"John", FirstCharacter, long, ErrNameTooLong, "answer"},
		{"John", Challenge(3), "John", ErrUnknownChallenge, "challenge"},
		{"John", Challenge(-1), "John", ErrUnknownChallenge, "challenge"},
	}
	for _, tc := range tests {
		got, err := VerifyName(tc.registered, tc.c, tc.answer)
		if !errors.Is(err, tc.want) || got != NoMatch {
			t.Errorf("VerifyName(%q, %v, %q) = %v, %v; want NoMatch, %v", tc.registered, tc.c, tc.answer, got, err, tc.want)
			continue
		}
		if tc.where != "challenge" && !strings.Contains(err.Error(), tc.where) {
			t.Errorf("error %q does not say %q", err, tc.where)
		}
	}
}

func TestMatchResultAndChallengeStrings(t *testing.T) {
	for v, want := range map[MatchResult]string{NoMatch: "no_match", CloseMatch: "close_match", Match: "match", 9: "MatchResult(9)"} {
		if v.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(v), v.String(), want)
		}
	}
	for v, want := range map[Challenge]string{FullName: "full_name", Surname: "surname", FirstCharacter: "first_character", 9: "Challenge(9)"} {
		if v.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(v), v.String(), want)
		}
	}
	var zero MatchResult
	if zero != NoMatch {
		t.Error("the zero MatchResult must be NoMatch")
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"abc", "abc", 0},
		{"kitten", "sitting", 3}, {"ab", "ba", 1}, {"abcd", "acbd", 1},
		{"ca", "abc", 3}, // OSA, not unrestricted Damerau-Levenshtein (which gives 2)
		{"王小明", "王晓明", 1},
	}
	for _, tc := range tests {
		if got := editDistance([]rune(tc.a), []rune(tc.b)); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func FuzzVerifyName(f *testing.F) {
	f.Add("John Smith", uint8(0), "J Smith")
	f.Add("欧阳娜娜", uint8(1), "欧阳")
	f.Add("Maria da Silva Santos", uint8(1), "Silva")
	f.Add("张三", uint8(2), "张")
	f.Fuzz(func(t *testing.T, registered string, c uint8, answer string) {
		ch := Challenge(c % 3)
		got, err := VerifyName(registered, ch, answer)
		if err != nil {
			if got != NoMatch {
				t.Fatalf("error %v with result %v", err, got)
			}
			return
		}
		if got < NoMatch || got > Match {
			t.Fatalf("result %d out of range", got)
		}
		if self, err := VerifyName(registered, FullName, registered); err != nil || self != Match {
			t.Fatalf("VerifyName(%q, FullName, itself) = %v, %v", registered, self, err)
		}
	})
}
