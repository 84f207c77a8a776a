package postgres

import "strings"

// splitStatements splits a migration's SQL text into its statements, so
// that each goes to the server in an Exec of its own: Citus refuses DDL
// sent as one text of several statements, and one statement per Exec is
// what every PostgreSQL-compatible engine accepts. A semicolon ends a
// statement unless it is inside a string ('…', E'…' with backslash
// escapes), a quoted identifier ("…"), a dollar-quoted body ($$…$$,
// $tag$…$tag$), a comment (--…, nested /*…*/), or the BEGIN … END body
// of a CREATE [OR REPLACE] FUNCTION or PROCEDURE written in SQL (BEGIN
// ATOMIC, counted as psql counts it). Statements come back trimmed,
// comments kept; texts holding nothing but comments and blanks are left
// out.
func splitStatements(sql string) []string {
	var out []string
	start := 0
	var words []string // the statement's first words, lower-cased, to spot CREATE FUNCTION
	nwords := 0
	depth := 0 // BEGIN … END nesting inside a CREATE FUNCTION or PROCEDURE
	code := false
	flush := func(end int) {
		if code {
			out = append(out, strings.TrimSpace(sql[start:end]))
		}
		start, words, nwords, depth, code = end+1, words[:0], 0, 0, false
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
			continue
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			i = skipBlockComment(sql, i)
			continue
		case c == ';':
			if depth == 0 {
				flush(i)
			}
			i++
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		}
		code = true
		switch {
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !identChar(sql[i-2]))
			i = skipQuoted(sql, i, '\'', escapes)
		case c == '"':
			i = skipQuoted(sql, i, '"', false)
		case c == '$' && (i == 0 || !identChar(sql[i-1])):
			if tag, ok := dollarTag(sql, i); ok {
				if j := strings.Index(sql[i+len(tag):], tag); j >= 0 {
					i += len(tag) + j + len(tag)
				} else {
					i = len(sql)
				}
			} else {
				i++
			}
		case identStart(c):
			j := i + 1
			for j < len(sql) && identChar(sql[j]) {
				j++
			}
			word := strings.ToLower(sql[i:j])
			if nwords < 4 {
				words = append(words, word)
			}
			nwords++
			if routineBody(words) {
				switch {
				case word == "begin":
					depth++
				case word == "case" && depth > 0:
					depth++
				case word == "end" && depth > 0:
					depth--
				}
			}
			i = j
		default:
			i++
		}
	}
	flush(len(sql))
	return out
}

// routineBody reports whether a statement beginning with words creates a
// function or procedure, whose SQL body may hold semicolons.
func routineBody(words []string) bool {
	if len(words) < 2 || words[0] != "create" {
		return false
	}
	if words[1] == "function" || words[1] == "procedure" {
		return true
	}
	return len(words) >= 4 && words[1] == "or" && words[2] == "replace" && (words[3] == "function" || words[3] == "procedure")
}

func identStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func identChar(c byte) bool { return identStart(c) || c >= '0' && c <= '9' || c == '$' }

// skipQuoted returns the index after the quoted text opening at i: a
// doubled quote stays inside, and with escapes so does a backslash and the
// byte after it.
func skipQuoted(s string, i int, q byte, escapes bool) int {
	for j := i + 1; j < len(s); j++ {
		switch {
		case escapes && s[j] == '\\':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}

// skipBlockComment returns the index after the comment opening at i;
// block comments nest.
func skipBlockComment(s string, i int) int {
	depth := 0
	for j := i; j+1 < len(s); j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// dollarTag returns the dollar-quote delimiter ($$ or $tag$) opening at i,
// if one does ($1, a parameter, does not).
func dollarTag(s string, i int) (string, bool) {
	j := i + 1
	if j < len(s) && s[j] >= '0' && s[j] <= '9' {
		return "", false
	}
	for j < len(s) && s[j] != '$' {
		if !identChar(s[j]) || s[j] == '$' {
			return "", false
		}
		j++
	}
	if j >= len(s) {
		return "", false
	}
	return s[i : j+1], true
}
