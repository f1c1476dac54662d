// Package jsonname finds JSON objects in which two member names match the
// same struct field under encoding/json's rule, which compares names
// case-insensitively (strings.EqualFold). Decoders disagree on such objects:
// encoding/json decodes the second value over the first, while appc's
// custom decoders, which rkt uses, start the second value afresh. rkt and
// its stage1 therefore reject them, so that both read a manifest alike.
package jsonname

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// ErrRepeated matches, with errors.Is, the error for an object with two
// member names that fold to the same form.
var ErrRepeated = errors.New("repeats an earlier member name of its object, ignoring case")

// Fold returns the form that name shares with every name that
// strings.EqualFold matches: each rune becomes the smallest rune of its
// Unicode simple case folding orbit.
func Fold(name string) string {
	return strings.Map(func(r rune) rune {
		smallest := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			smallest = min(smallest, f)
		}
		return smallest
	}, name)
}

// Set records the folded member names of one object.
type Set map[string]struct{}

// Add records name and reports whether the object had no name of the same
// folded form before.
func (s Set) Add(name string) bool {
	folded := Fold(name)
	if _, ok := s[folded]; ok {
		return false
	}
	s[folded] = struct{}{}
	return true
}

// RepeatedError is the error for a member name that Add rejected.
// errors.Is matches it with ErrRepeated. It wraps nothing, so that a message
// cut down to its innermost error still names the member.
type RepeatedError struct {
	// Name is the repeated member name.
	Name string
	// Where is the JSON pointer of the member, shortened at its start when
	// the nesting is deep.
	Where string
}

func (e *RepeatedError) Error() string {
	return fmt.Sprintf("member name %q at %q %v: give each name once", e.Name, e.Where, ErrRepeated)
}

// Is reports whether target is ErrRepeated.
func (e *RepeatedError) Is(target error) bool {
	return target == ErrRepeated
}

// maxPointer is the longest JSON pointer that Repeated puts in its error.
const maxPointer = 200

// Repeated returns the error for a member name that Add rejected. where is
// the JSON pointer of that member.
func Repeated(name, where string) error {
	if len(where) > maxPointer {
		cut := len(where) - maxPointer
		for cut < len(where) && !utf8.RuneStart(where[cut]) {
			cut++
		}
		where = "…" + where[cut:]
	}
	return &RepeatedError{Name: name, Where: where}
}

// Check returns an error wrapping ErrRepeated for the first object of data
// that has two member names of the same folded form, and the tokenizer's
// error for data that is not one JSON value.
func Check(data []byte) error {
	tokens := jsontext.NewDecoder(bytes.NewReader(data),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	// names holds one set for each open object, and nil for each open array.
	var names []Set
	for {
		kind := tokens.PeekKind()
		if kind == jsontext.KindInvalid {
			_, err := tokens.ReadToken()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		// A string where the innermost open value is an object, after an
		// even count of names and values, is a member name.
		isName := false
		if kind == '"' && len(names) > 0 && names[len(names)-1] != nil {
			_, length := tokens.StackIndex(tokens.StackDepth())
			isName = length%2 == 0
		}
		token, err := tokens.ReadToken()
		if err != nil {
			return err
		}
		switch {
		case isName:
			if name := token.String(); !names[len(names)-1].Add(name) {
				return Repeated(name, string(tokens.StackPointer()))
			}
		case kind == '{':
			names = append(names, Set{})
		case kind == '[':
			names = append(names, nil)
		case kind == '}' || kind == ']':
			names = names[:len(names)-1]
		}
		if tokens.StackDepth() == 0 {
			// The top-level value is complete, and it must be the only one.
			if _, err := tokens.ReadToken(); err != io.EOF {
				if err == nil {
					err = fmt.Errorf("another JSON value after offset %d", tokens.InputOffset())
				}
				return err
			}
			return nil
		}
	}
}
