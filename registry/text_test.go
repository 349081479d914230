package registry

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
)

func TestTextRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"one word", "word"},
		{"sentence", "A retired teacher who loves gardening."},
		{"leading and trailing spaces", "  indented, then trailing  "},
		{"lines and blank lines", "first line\nsecond line\n\n\nafter blanks\n"},
		{"tabs and carriage returns", "a\tb\r\nc\t\t"},
		{"only spaces", " \n\t "},
		{"unicode", "東京に住むエンジニア。 Profesora de música — café"},
		{"invalid utf-8", "bad \xff\xfe bytes"},
		{"long token", strings.Repeat("x", 5000) + " tail"},
		{"repeated words", strings.Repeat("the same words again ", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txt := NewText(tc.text)
			if got := txt.String(); got != tc.text {
				t.Fatalf("String() = %q, want %q", got, tc.text)
			}
			if tc.text == "" && txt != (Text{}) {
				t.Errorf("the empty text is not the zero Text")
			}
			if got := txt.AppendTo([]byte("prefix:")); string(got) != "prefix:"+tc.text {
				t.Errorf("AppendTo = %q, want the text after the prefix", got)
			}
			if lasting := versionTexts.lasting(txt); lasting != txt || lasting.String() != tc.text {
				t.Errorf("the arena's copy reads %q", lasting.String())
			}
		})
	}
}

// TestTextIsCompact: a background of repeated vocabulary costs a few bytes a
// word (two when the table holds more than 127 tokens, as it does after the
// other tests), which is what Text is for.
func TestTextIsCompact(t *testing.T) {
	words := strings.Fields("the patient calls about a billing issue and asks for a refund before the deadline")
	var b strings.Builder
	for i := range 400 {
		b.WriteString(words[(i*7)%len(words)])
		b.WriteByte(" \n"[i%9/8])
	}
	s := b.String()
	if txt := NewText(s); txt.Size()*5 > len(s)*2 {
		t.Errorf("%d bytes of text take %d bytes encoded, want at most 40%%", len(s), txt.Size())
	}
}

func TestTextJSON(t *testing.T) {
	b, err := json.Marshal(struct{ Background Text }{NewText("line one\nline \"two\"")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Background":"line one\nline \"two\""}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back struct{ Background Text }
	if err := json.Unmarshal(b, &back); err != nil || back.Background != NewText("line one\nline \"two\"") {
		t.Errorf("read back %q, %v", back.Background, err)
	}
}

// fileNumbered encodes tokens by their position in a cache's token table.
func fileNumbered(ids ...uint64) Text {
	var b []byte
	for _, id := range ids {
		b = binary.AppendUvarint(b, id)
	}
	return Text{enc: string(b)}
}

// TestTextRenumber: texts read from a cache written by another process are
// renumbered into this process's table, and numbers the cache's table lacks
// are refused instead of read.
func TestTextRenumber(t *testing.T) {
	NewText("zeta eta theta") // this process numbered other tokens first
	cacheTokens := []string{"gamma", "beta ", "alpha ", "unused\n"}
	to, same := tokens.adopt(cacheTokens)
	if same {
		t.Fatalf("adopt says the numbering is the same as a fresh process's")
	}
	for _, tc := range []struct {
		name string
		text Text
		want string
		ok   bool
	}{
		{"renumbered", fileNumbered(2, 1, 0), "alpha beta gamma", true},
		{"repeated token", fileNumbered(1, 1, 3), "beta beta unused\n", true},
		{"empty", Text{}, "", true},
		{"number past the table", fileNumbered(2, 4), "", false},
		{"truncated number", Text{enc: "\x02\x80"}, "", false},
		{"number over 32 bits", Text{enc: "\xff\xff\xff\xff\xff\x01"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.text.renumber(to, false)
			if ok != tc.ok {
				t.Fatalf("renumber ok = %v, want %v", ok, tc.ok)
			}
			if ok && got.String() != tc.want {
				t.Errorf("renumbered text = %q, want %q", got.String(), tc.want)
			}
			if _, okSame := tc.text.renumber(to, true); okSame != tc.ok {
				t.Errorf("checking without renumbering: ok = %v, want %v", okSame, tc.ok)
			}
		})
	}
}

// FuzzText holds Text to its contract: it reads back what was written, and
// two texts are == exactly when their strings are.
func FuzzText(f *testing.F) {
	f.Add("A retired teacher.", "A retired teacher.")
	f.Add("a b", "a  b")
	f.Add("x\n", "x")
	f.Add("", " ")
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, tb := NewText(a), NewText(b)
		if ta.String() != a || tb.String() != b || string(ta.AppendTo(nil)) != a {
			t.Fatalf("round trip: %q → %q, %q → %q", a, ta.String(), b, tb.String())
		}
		if (ta == tb) != (a == b) {
			t.Fatalf("NewText(%q) == NewText(%q) is %v", a, b, ta == tb)
		}
	})
}
