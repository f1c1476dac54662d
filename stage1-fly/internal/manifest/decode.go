package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/rktfly/rkt/common/jsonname"
)

// The manifests are decoded with the jsontext tokenizer and a hand-written
// mapping to the types here, rather than with encoding/json. The first
// Unmarshal in a process builds reflection caches for every type it meets,
// and the run entrypoint decodes two manifests once and then execs. That
// cost it about 0.15 ms per pod manifest (phase marks of warm runs on a
// 2-core VM). The mapping follows encoding/json's rules for the types here:
//
//   - An object key matches a field by exact or case-insensitive
//     (strings.EqualFold) comparison, and unknown keys are skipped.
//   - null leaves a string, bool, int or struct as it is and sets a slice
//     or pointer to nil. An empty array gives an empty, non-nil slice.
//   - A pointer that is already set is decoded into.
//   - Unlike encoding/json, an object with two names that match the same
//     field ignoring case, or two equal names, is an error
//     (jsonname.ErrRepeated). rkt's stage0 decodes such a repeated value
//     afresh and encoding/json decodes it over the first one, so the stage1
//     could otherwise read another manifest than the one stage0 checked.
//   - Invalid UTF-8 and unpaired UTF-16 surrogates in strings become
//     U+FFFD (jsontext.AllowInvalidUTF8).
//   - An int accepts only a JSON number without fraction or exponent.
//   - Arrays and objects nest at most 10000 deep, jsontext's limit and
//     encoding/json's.
//
// Its errors differ from encoding/json's, and it stops at the first one.

// decoder reads one JSON value from a byte slice.
type decoder struct {
	tokens *jsontext.Decoder
}

func newDecoder(data []byte) *decoder {
	// A bytes.Buffer lets jsontext read data in place instead of copying
	// it into a buffer of its own.
	tokens := jsontext.NewDecoder(bytes.NewBuffer(data),
		jsontext.AllowDuplicateNames(true),
		jsontext.AllowInvalidUTF8(true))
	return &decoder{tokens: tokens}
}

// peek returns the kind of the next token, or the error that prevents
// reading it.
func (d *decoder) peek() (jsontext.Kind, error) {
	if kind := d.tokens.PeekKind(); kind != jsontext.KindInvalid {
		return kind, nil
	}
	_, err := d.tokens.ReadToken()
	switch {
	case err == io.EOF:
		// jsontext reads a stream of values and reports io.EOF when there
		// is none at all, but a manifest is exactly one value.
		return jsontext.KindInvalid, fmt.Errorf("empty input: %w", io.ErrUnexpectedEOF)
	case err == nil:
		return jsontext.KindInvalid, errors.New("invalid JSON token")
	}
	return jsontext.KindInvalid, err
}

// typeError consumes the next token, of kind, and returns an error naming
// its JSON pointer and the expected type.
func (d *decoder) typeError(kind jsontext.Kind, expected string) error {
	// Reading the token first makes StackPointer point to it rather than
	// to the value before it.
	if _, err := d.tokens.ReadToken(); err != nil {
		return err
	}
	return fmt.Errorf("invalid JSON %s at %q, expected %s", kindName(kind), d.tokens.StackPointer(), expected)
}

// kindName returns the JSON type of a value that starts with a token of
// kind.
func kindName(kind jsontext.Kind) string {
	switch kind {
	case jsontext.KindNull:
		return "null"
	case jsontext.KindTrue, jsontext.KindFalse:
		return "boolean"
	case jsontext.KindString:
		return "string"
	case jsontext.KindNumber:
		return "number"
	case jsontext.KindBeginObject:
		return "object"
	case jsontext.KindBeginArray:
		return "array"
	}
	return kind.String()
}

// end checks that only white space follows the decoded value.
func (d *decoder) end() error {
	offset := d.tokens.InputOffset()
	_, err := d.tokens.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("invalid data after the top-level value at offset %d", offset)
	}
	return err
}

// null consumes a null literal and reports whether there was one.
func (d *decoder) null() (bool, error) {
	kind, err := d.peek()
	if err != nil || kind != jsontext.KindNull {
		return false, err
	}
	_, err = d.tokens.ReadToken()
	return true, err
}

// object decodes an object, calling field for each key with the decoder
// at the start of the key's value. field must consume the value.
func (d *decoder) object(field func(key string) error) error {
	if err := d.begin(jsontext.KindBeginObject, "object"); err != nil {
		return err
	}
	var names jsonname.Set
	for {
		if d.tokens.PeekKind() == jsontext.KindEndObject {
			_, err := d.tokens.ReadToken()
			return err
		}
		// The tokenizer checks the grammar, so this is a key or an error.
		key, err := d.tokens.ReadToken()
		if err != nil {
			return err
		}
		name := key.String()
		if names == nil {
			names = jsonname.Set{}
		}
		if !names.Add(name) {
			return jsonname.Repeated(name, string(d.tokens.StackPointer()))
		}
		if err := field(name); err != nil {
			return err
		}
	}
}

// structValue decodes an object into a struct through field, as object
// does, and leaves the struct as it is for null, as encoding/json does.
func (d *decoder) structValue(field func(key string) error) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(field)
}

// array decodes an array, calling element with the decoder at the start of
// each element, which element must consume.
func (d *decoder) array(element func() error) error {
	if err := d.begin(jsontext.KindBeginArray, "array"); err != nil {
		return err
	}
	for {
		if d.tokens.PeekKind() == jsontext.KindEndArray {
			_, err := d.tokens.ReadToken()
			return err
		}
		if err := element(); err != nil {
			return err
		}
	}
}

// begin consumes the '{' or '[' token of kind. expected names the type for
// the error when the next value is of another kind.
func (d *decoder) begin(kind jsontext.Kind, expected string) error {
	next, err := d.peek()
	if err != nil {
		return err
	}
	if next != kind {
		return d.typeError(next, expected)
	}
	_, err = d.tokens.ReadToken()
	return err
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

// scalar reads the next token, which must be null or of one of kinds, and
// reports whether it is null. expected names kinds for the type error.
func (d *decoder) scalar(expected string, kinds ...jsontext.Kind) (token jsontext.Token, isNull bool, err error) {
	kind, err := d.peek()
	if err != nil {
		return jsontext.Token{}, false, err
	}
	if kind != jsontext.KindNull && !slices.Contains(kinds, kind) {
		return jsontext.Token{}, false, d.typeError(kind, expected)
	}
	token, err = d.tokens.ReadToken()
	return token, kind == jsontext.KindNull, err
}

// stringValue decodes a string, or leaves s as it is for null.
func (d *decoder) stringValue(s *string) error {
	token, isNull, err := d.scalar("string", jsontext.KindString)
	if err != nil || isNull {
		return err
	}
	*s = token.String()
	return nil
}

// boolValue decodes true or false, or leaves b as it is for null.
func (d *decoder) boolValue(b *bool) error {
	token, isNull, err := d.scalar("true or false", jsontext.KindTrue, jsontext.KindFalse)
	if err != nil || isNull {
		return err
	}
	*b = token.Bool()
	return nil
}

// intValue decodes an integer, or leaves i as it is for null.
func (d *decoder) intValue(i *int) error {
	token, isNull, err := d.scalar("integer", jsontext.KindNumber)
	if err != nil || isNull {
		return err
	}
	// For a number, String returns the JSON text, which the tokenizer has
	// checked against the JSON grammar.
	text := token.String()
	if strings.ContainsAny(text, ".eE") {
		return fmt.Errorf("number %s at %q is not an integer", text, d.tokens.StackPointer())
	}
	n, err := strconv.ParseInt(text, 10, strconv.IntSize)
	if err != nil {
		return fmt.Errorf("number %s at %q: %w", text, d.tokens.StackPointer(), err)
	}
	*i = int(n)
	return nil
}

// skip consumes any value.
func (d *decoder) skip() error {
	if _, err := d.peek(); err != nil {
		return err
	}
	return d.tokens.SkipValue()
}

// The decoders of the manifest types. Each decodes one value, or null,
// into its argument.

func (d *decoder) podManifest(pm *PodManifest) error {
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
	return d.structValue(func(key string) error {
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
