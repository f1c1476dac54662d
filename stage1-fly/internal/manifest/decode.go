package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The manifests are decoded by hand rather than with encoding/json. The
// first Unmarshal in a process builds reflection caches for every type it
// meets, and the run entrypoint decodes two manifests once and then execs:
// that cost it about 0.15 ms per pod manifest (phase marks of warm runs on
// a 2-core VM). The decoder follows encoding/json's rules for the types
// here:
//
//   - An object key matches a field by exact or case-insensitive
//     (strings.EqualFold) comparison, and unknown keys are skipped.
//   - null leaves a string, bool, int or struct as it is and sets a slice
//     or pointer to nil. An empty array gives an empty, non-nil slice.
//   - A pointer that is already set is decoded into, so a key given twice
//     decodes its second value over the first.
//   - Invalid UTF-8 and unpaired UTF-16 surrogates in strings become U+FFFD.
//   - An int accepts only a JSON number without fraction or exponent.
//
// Its errors differ from encoding/json's, and it stops at the first one.

// maxDepth is encoding/json's limit on nested arrays and objects.
const maxDepth = 10000

// decoder reads one JSON value from data.
type decoder struct {
	data  []byte
	pos   int
	depth int
}

// syntaxError returns an error for the byte at the current position.
func (d *decoder) syntaxError(expected string) error {
	if d.pos >= len(d.data) {
		return fmt.Errorf("unexpected end of JSON input, expected %s", expected)
	}
	return fmt.Errorf("invalid character %q at offset %d, expected %s", d.data[d.pos], d.pos, expected)
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// end checks that only white space follows the decoded value.
func (d *decoder) end() error {
	if d.skipSpace(); d.pos < len(d.data) {
		return d.syntaxError("end of input after the top-level value")
	}
	return nil
}

// literal consumes word, such as "null", at the current position.
func (d *decoder) literal(word string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		return d.syntaxError(fmt.Sprintf("literal %s", word))
	}
	d.pos += len(word)
	return nil
}

// null consumes a null literal and reports whether there was one.
func (d *decoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

// object decodes an object, calling field for each key with the decoder
// at the start of the key's value. field must consume the value.
func (d *decoder) object(field func(key string) error) error {
	if d.peek() != '{' {
		return d.syntaxError("object")
	}
	d.pos++
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	defer func() { d.depth-- }()

	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.syntaxError("object key")
		}
		key, err := d.string()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.syntaxError("':' after object key")
		}
		d.pos++
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.syntaxError("',' or '}' in object")
		}
	}
}

// array decodes an array, calling element with the decoder at the start of
// each element, which element must consume.
func (d *decoder) array(element func() error) error {
	if d.peek() != '[' {
		return d.syntaxError("array")
	}
	d.pos++
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	defer func() { d.depth-- }()

	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return d.syntaxError("',' or ']' in array")
		}
	}
}

// slice decodes an array or null into s, decoding each element with
// element. Elements that s already has are decoded into, as
// encoding/json does.
func slice[T any](d *decoder, s *[]T, element func(*T) error) error {
	if isNull, err := d.null(); isNull || err != nil {
		*s = nil
		return err
	}
	n := 0
	err := d.array(func() error {
		// Like encoding/json, reuse the array behind s: an element within
		// its capacity is decoded into as it is.
		if n < cap(*s) {
			*s = (*s)[:n+1]
		} else {
			var zero T
			*s = append(*s, zero)
		}
		n++
		return element(&(*s)[n-1])
	})
	if err != nil {
		return err
	}
	if n == 0 {
		*s = []T{}
		return nil
	}
	*s = (*s)[:n]
	return nil
}

// pointer decodes a value or null into *p, allocating it when it is nil.
func pointer[T any](d *decoder, p **T, value func(*T) error) error {
	if isNull, err := d.null(); isNull || err != nil {
		*p = nil
		return err
	}
	if *p == nil {
		*p = new(T)
	}
	return value(*p)
}

// stringValue decodes a string, or leaves s as it is for null.
func (d *decoder) stringValue(s *string) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	if d.peek() != '"' {
		return d.syntaxError("string")
	}
	value, err := d.string()
	if err != nil {
		return err
	}
	*s = value
	return nil
}

// boolValue decodes true or false, or leaves b as it is for null.
func (d *decoder) boolValue(b *bool) error {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case 't':
		*b = true
		return d.literal("true")
	case 'f':
		*b = false
		return d.literal("false")
	}
	return d.syntaxError("true or false")
}

// intValue decodes an integer, or leaves i as it is for null.
func (d *decoder) intValue(i *int) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	start := d.pos
	integer, err := d.number()
	if err != nil {
		return err
	}
	text := string(d.data[start:d.pos])
	if !integer {
		return fmt.Errorf("number %s at offset %d is not an integer", text, start)
	}
	n, err := strconv.ParseInt(text, 10, strconv.IntSize)
	if err != nil {
		return fmt.Errorf("number %s at offset %d: %w", text, start, err)
	}
	*i = int(n)
	return nil
}

// number consumes a JSON number and reports whether it has neither a
// fraction nor an exponent.
func (d *decoder) number() (integer bool, err error) {
	d.skipSpace()
	digits := func() int {
		start := d.pos
		for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
			d.pos++
		}
		return d.pos - start
	}
	integer = true
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case digits() == 0:
		return false, d.syntaxError("digit")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if digits() == 0 {
			return false, d.syntaxError("digit after decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		integer = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return false, d.syntaxError("digit in exponent")
		}
	}
	return integer, nil
}

// skip consumes any value.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func(string) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, err := d.string()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, err := d.number()
		return err
	}
	return d.syntaxError("value")
}

// string consumes a string at the current position, which must be its
// opening quote, and returns it unescaped.
func (d *decoder) string() (string, error) {
	d.pos++
	start := d.pos
	// Most strings have no escape and are valid UTF-8: return them as
	// they are.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			d.pos++
			return string(d.data[start : d.pos-1]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.pos++
	}

	var b strings.Builder
	b.Write(d.data[start:d.pos])
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return b.String(), nil
		case c < 0x20:
			return "", d.syntaxError("string character (control characters must be escaped)")
		case c == '\\':
			if err := d.escape(&b); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			b.WriteRune(r) // utf8.RuneError for an invalid byte, as encoding/json
			d.pos += size
		}
	}
	return "", d.syntaxError("closing '\"' of string")
}

// escape decodes the escape sequence at the current position into b.
func (d *decoder) escape(b *strings.Builder) error {
	if d.pos+1 >= len(d.data) {
		d.pos = len(d.data)
		return d.syntaxError("escape sequence")
	}
	c := d.data[d.pos+1]
	if replacement, ok := simpleEscapes[c]; ok {
		b.WriteByte(replacement)
		d.pos += 2
		return nil
	}
	if c != 'u' {
		d.pos++
		return d.syntaxError("escape character")
	}
	r, ok := d.hex4(d.pos + 2)
	if !ok {
		d.pos += 2
		return d.syntaxError("four hexadecimal digits after \\u")
	}
	d.pos += 6
	if utf16.IsSurrogate(r) {
		// A high surrogate must be followed by an escaped low one.
		// Otherwise it becomes U+FFFD, and the next escape is decoded on
		// its own.
		high := r
		r = utf8.RuneError
		if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
			if low, ok := d.hex4(d.pos + 2); ok {
				if pair := utf16.DecodeRune(high, low); pair != utf8.RuneError {
					r = pair
					d.pos += 6
				}
			}
		}
	}
	b.WriteRune(r)
	return nil
}

// simpleEscapes maps the character after a backslash to the byte that the
// escape denotes, for every escape but \u.
var simpleEscapes = map[byte]byte{
	'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// hex4 returns the value of the four hexadecimal digits at data[at:].
func (d *decoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// The decoders of the manifest types. Each decodes one value, or null,
// into its argument.

func (d *decoder) podManifest(pm *PodManifest) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "acKind"):
			return d.stringValue(&pm.ACKind)
		case keyIs(key, "apps"):
			return slice(d, &pm.Apps, d.runtimeApp)
		case keyIs(key, "volumes"):
			return slice(d, &pm.Volumes, d.volume)
		}
		return d.skip()
	})
}

func (d *decoder) runtimeApp(ra *RuntimeApp) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&ra.Name)
		case keyIs(key, "image"):
			return d.runtimeImage(&ra.Image)
		case keyIs(key, "app"):
			return pointer(d, &ra.App, d.app)
		case keyIs(key, "mounts"):
			return slice(d, &ra.Mounts, d.mount)
		}
		return d.skip()
	})
}

func (d *decoder) runtimeImage(ri *RuntimeImage) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&ri.Name)
		case keyIs(key, "id"):
			return d.stringValue(&ri.ID)
		}
		return d.skip()
	})
}

func (d *decoder) app(a *App) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "exec"):
			return slice(d, &a.Exec, d.stringValue)
		case keyIs(key, "user"):
			return d.stringValue(&a.User)
		case keyIs(key, "group"):
			return d.stringValue(&a.Group)
		case keyIs(key, "supplementaryGIDs"):
			return slice(d, &a.SupplementaryGIDs, d.intValue)
		case keyIs(key, "workingDirectory"):
			return d.stringValue(&a.WorkingDirectory)
		case keyIs(key, "environment"):
			return slice(d, (*[]EnvironmentVariable)(&a.Environment), d.environmentVariable)
		case keyIs(key, "mountPoints"):
			return slice(d, &a.MountPoints, d.mountPoint)
		}
		return d.skip()
	})
}

func (d *decoder) environmentVariable(v *EnvironmentVariable) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&v.Name)
		case keyIs(key, "value"):
			return d.stringValue(&v.Value)
		}
		return d.skip()
	})
}

func (d *decoder) mountPoint(mp *MountPoint) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&mp.Name)
		case keyIs(key, "path"):
			return d.stringValue(&mp.Path)
		case keyIs(key, "readOnly"):
			return d.boolValue(&mp.ReadOnly)
		}
		return d.skip()
	})
}

func (d *decoder) mount(m *Mount) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "volume"):
			return d.stringValue(&m.Volume)
		case keyIs(key, "path"):
			return d.stringValue(&m.Path)
		case keyIs(key, "appVolume"):
			return pointer(d, &m.AppVolume, d.volume)
		}
		return d.skip()
	})
}

func (d *decoder) volume(v *Volume) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&v.Name)
		case keyIs(key, "kind"):
			return d.stringValue(&v.Kind)
		case keyIs(key, "source"):
			return d.stringValue(&v.Source)
		case keyIs(key, "readOnly"):
			return pointer(d, &v.ReadOnly, d.boolValue)
		case keyIs(key, "recursive"):
			return pointer(d, &v.Recursive, d.boolValue)
		case keyIs(key, "mode"):
			return pointer(d, &v.Mode, d.stringValue)
		case keyIs(key, "uid"):
			return pointer(d, &v.UID, d.intValue)
		case keyIs(key, "gid"):
			return pointer(d, &v.GID, d.intValue)
		}
		return d.skip()
	})
}

func (d *decoder) imageManifest(im *ImageManifest) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "acKind"):
			return d.stringValue(&im.ACKind)
		case keyIs(key, "name"):
			return d.stringValue(&im.Name)
		case keyIs(key, "app"):
			return pointer(d, &im.App, d.app)
		case keyIs(key, "annotations"):
			return slice(d, (*[]Annotation)(&im.Annotations), d.annotation)
		}
		return d.skip()
	})
}

func (d *decoder) annotation(a *Annotation) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key string) error {
		switch {
		case keyIs(key, "name"):
			return d.stringValue(&a.Name)
		case keyIs(key, "value"):
			return d.stringValue(&a.Value)
		}
		return d.skip()
	})
}

// keyIs reports whether the object key matches the field name, as
// encoding/json matches them.
func keyIs(key, name string) bool {
	return key == name || strings.EqualFold(key, name)
}
