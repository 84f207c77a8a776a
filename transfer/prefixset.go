package transfer

import (
	"regexp/syntax"
)

// prefixSet is the finite set of digit strings a libphonenumber prefix
// pattern (an international or national prefix) matches, as a trie, so
// that LookupKey can strip such a prefix in a few array reads instead of
// running a regular expression.
type prefixSet struct {
	nodes []prefixNode // nodes[0] is the root (the empty string)
}

type prefixNode struct {
	next   [10]int32 // child per digit; 0 means none (the root is nobody's child)
	accept bool      // the digits leading here are in the set
}

// Limits on the sets compilePrefixSet builds; metadata prefixes are at most
// a few thousand strings of up to 7 digits.
const (
	maxPrefixLen   = 12
	maxPrefixNodes = 1 << 16
)

// compilePrefixSet enumerates the digit strings that pattern (Perl syntax,
// as in libphonenumber's metadata) matches in full. It returns ok == false
// if the pattern does not parse, uses anchors or other empty-width
// assertions, or matches more than maxPrefixNodes prefixes or strings
// longer than maxPrefixLen digits.
func compilePrefixSet(pattern string) (set *prefixSet, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	e := &nfa{prog: prog, seen: make([]uint32, len(prog.Inst))}
	start, accept, ok := e.closure([]uint32{uint32(prog.Start)})
	if !ok {
		return nil, false
	}
	set = &prefixSet{nodes: []prefixNode{{accept: accept}}}
	var walk func(node int32, states []uint32, depth int) bool
	walk = func(node int32, states []uint32, depth int) bool {
		for c := range 10 {
			next, accept, ok := e.step(states, rune('0'+c))
			if !ok {
				return false
			}
			if len(next) == 0 && !accept {
				continue
			}
			if depth+1 > maxPrefixLen || len(set.nodes) == maxPrefixNodes {
				return false
			}
			child := int32(len(set.nodes))
			set.nodes = append(set.nodes, prefixNode{accept: accept})
			set.nodes[node].next[c] = child
			if len(next) > 0 && !walk(child, next, depth+1) {
				return false
			}
		}
		return true
	}
	if !walk(0, start, 0) {
		return nil, false
	}
	return set, true
}

// match returns the length of the one prefix of the digits d that is in the
// set. It returns -1 if none is, and -2 if several are: then which one
// libphonenumber's regular expression picks depends on the order of its
// alternatives, and the caller gives up.
func (s *prefixSet) match(d []byte) int {
	n, node := -1, int32(0)
	if s.nodes[0].accept {
		n = 0
	}
	for i, c := range d {
		if node = s.nodes[node].next[c-'0']; node == 0 {
			break
		}
		if s.nodes[node].accept {
			if n >= 0 {
				return -2
			}
			n = i + 1
		}
	}
	return n
}

// nfa simulates a compiled regexp/syntax program on a set of states.
type nfa struct {
	prog *syntax.Prog
	seen []uint32 // generation in which each instruction was added
	gen  uint32
}

// closure returns the consuming instructions reachable from pcs without
// consuming input, and whether a match is.
func (e *nfa) closure(pcs []uint32) (states []uint32, accept, ok bool) {
	e.gen++
	stack := append([]uint32(nil), pcs...)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e.seen[pc] == e.gen {
			continue
		}
		e.seen[pc] = e.gen
		in := &e.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstMatch:
			accept = true
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			states = append(states, pc)
		case syntax.InstFail:
		default: // InstEmptyWidth: anchors and word boundaries
			return nil, false, false
		}
	}
	return states, accept, true
}

// step consumes r from every state and returns the closure of the result.
func (e *nfa) step(states []uint32, r rune) (next []uint32, accept, ok bool) {
	var out []uint32
	for _, pc := range states {
		if in := &e.prog.Inst[pc]; in.MatchRune(r) {
			out = append(out, in.Out)
		}
	}
	if len(out) == 0 {
		return nil, false, true
	}
	return e.closure(out)
}
