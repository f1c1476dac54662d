package manifest

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rktfly/rkt/common/jsonname"
)

// decoderCases are manifests, valid and invalid, on which the decoder must
// agree with encoding/json. They also seed the fuzz tests.
var decoderCases = []string{
	// As stage0 writes them.
	`{"acVersion":"1.31.0","acKind":"PodManifest","apps":[{"name":"bench-true","image":{"name":"example.com/bench-true","id":"sha512-2a1b","labels":[{"name":"version","value":"1.0.0"}]},"app":{"exec":["/bin/true"],"user":"0","group":"0"}}],"volumes":null,"isolators":null,"annotations":[{"name":"coreos.com/rkt/stage1/mutable","value":"false"}],"ports":null}`,
	`{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/bench-true","labels":[{"name":"version","value":"1.0.0"}],"app":{"exec":["/bin/true"],"user":"0","group":"0"}}`,
	// Every field, with white space and unknown fields of every kind.
	` { "acKind" : "PodManifest" , "apps" : [ { "name" : "a" , "image" : { "id" : "sha512-00" } , "app" : {
		"exec" : [ "/bin/sh" , "-c" , "echo" ] , "user" : "web" , "group" : "www" , "supplementaryGIDs" : [ 5 , -0 , 1000000 ] ,
		"workingDirectory" : "/srv" , "environment" : [ { "name" : "A" , "value" : "1" } ] ,
		"mountPoints" : [ { "name" : "data" , "path" : "/data" , "readOnly" : true } ] ,
		"isolators" : [ { "name" : "resource/memory" , "value" : { "limit" : 1.5e9 , "x" : [ true , false , null , -1.25E-3 , {} , [] ] } } ] } ,
		"mounts" : [ { "volume" : "data" , "path" : "/data" } , { "volume" : "inline" , "path" : "/i" , "appVolume" : { "name" : "inline" , "kind" : "host" , "source" : "/src" , "readOnly" : false } } ] } ] ,
		"volumes" : [ { "name" : "e" , "kind" : "empty" , "mode" : "0700" , "uid" : 1 , "gid" : 2 , "recursive" : true } ] } `,
	// Keys in other cases, which encoding/json matches too.
	`{"ACKIND":"PodManifest","Apps":[{"NAME":"a","App":{"Exec":["/x"],"USER":"0","Group":"0","WorkingDirectory":"/"}}]}`,
	// Escapes, UTF-8, invalid UTF-8 and surrogates.
	`{"acKind":"PodManifest","apps":[{"name":"a\"b\\c\/d\b\f\n\r\t","app":{"exec":["\u00e9\u4e16\ud83d\ude00","é世","\ud83d","\udc00x","\ud83d\u0041","` + "\xff\xfe" + `"]}}]}`,
	// null everywhere.
	`{"acKind":"PodManifest","apps":[{"name":null,"image":null,"app":{"exec":null,"user":null,"supplementaryGIDs":null,"environment":null,"mountPoints":[{"readOnly":null}]},"mounts":null}],"volumes":[{"readOnly":null,"uid":null}]}`,
	`{"acKind":"PodManifest","apps":[null,{"app":null}],"volumes":[null]}`,
	// Empty arrays give empty, not nil, slices.
	`{"acKind":"PodManifest","apps":[{"app":{"exec":[],"environment":[]},"mounts":[]}],"volumes":[]}`,
	// Keys given twice.
	`{"acKind":"PodManifest","apps":[{"app":{"exec":["a","b"],"user":"0"}}],"apps":[{"app":{"exec":["c"],"group":"0"}}]}`,
	`{"acKind":"ImageManifest","app":{"user":"1"},"app":{"group":"2"},"annotations":[{"name":"x","value":"1"}],"annotations":[{"value":"2"}]}`,
	// Invalid documents.
	``,
	`{`,
	`{"acKind":"PodManifest"} x`,
	`{"acKind":"PodManifest",}`,
	`{"acKind" "PodManifest"}`,
	`{"apps":[{"app":{"exec":"/bin/true"}}]}`,
	`{"apps":[{"app":{"supplementaryGIDs":[1.5]}}]}`,
	`{"apps":[{"app":{"supplementaryGIDs":[1e3]}}]}`,
	`{"apps":[{"app":{"supplementaryGIDs":[99999999999999999999]}}]}`,
	`{"apps":[{"app":{"supplementaryGIDs":[01]}}]}`,
	`{"volumes":[{"readOnly":"true"}]}`,
	`{"x":tru}`,
	`{"x":-}`,
	`{"x":1.}`,
	`{"x":"\x"}`,
	`{"x":"\u12"}`,
	"{\"x\":\"a\tb\"}",
	`{"x":[1,]}`,
	`{"x":"unterminated}`,
}

// decodeWithJSON decodes data into a new T with encoding/json.
func decodeWithJSON[T any](data []byte) (*T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func checkPodDecoder(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeWithJSON[PodManifest](data)
	var got PodManifest
	d := newDecoder(data)
	gotErr := d.podManifest(&got)
	if gotErr == nil {
		gotErr = d.end()
	}
	compareDecoders(t, data, want, &got, wantErr, gotErr)
}

func checkImageDecoder(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeWithJSON[ImageManifest](data)
	var got ImageManifest
	d := newDecoder(data)
	gotErr := d.imageManifest(&got)
	if gotErr == nil {
		gotErr = d.end()
	}
	compareDecoders(t, data, want, &got, wantErr, gotErr)
}

func compareDecoders[T any](t *testing.T, data []byte, want, got *T, wantErr, gotErr error) {
	t.Helper()
	switch {
	case wantErr != nil && gotErr == nil:
		t.Errorf("decoder accepted %q, which encoding/json rejects: %v", data, wantErr)
	case wantErr == nil && gotErr != nil && errors.Is(gotErr, jsonname.ErrRepeated):
		// The one intended difference: a repeated member name.
		if !errors.Is(jsonname.Check(data), jsonname.ErrRepeated) {
			t.Errorf("decoder rejected %q for a repeated name, which jsonname.Check does not find: %v", data, gotErr)
		}
	case wantErr == nil && gotErr != nil:
		t.Errorf("decoder rejected %q, which encoding/json accepts: %v", data, gotErr)
	case wantErr == nil && !reflect.DeepEqual(got, want):
		t.Errorf("decoding %q:\n got %+v\nwant %+v (encoding/json)", data, got, want)
	}
}

func TestDecoderMatchesEncodingJSON(t *testing.T) {
	for _, c := range decoderCases {
		checkPodDecoder(t, []byte(c))
		checkImageDecoder(t, []byte(c))
	}
}

// maxNestingDepth is the limit on nested arrays and objects of jsontext and
// of encoding/json.
const maxNestingDepth = 10000

func TestDecoderNestingLimit(t *testing.T) {
	nested := func(depth int) []byte {
		// The top-level object is one level.
		return []byte(`{"acKind":"PodManifest","x":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
	}
	if _, err := DecodePod(nested(maxNestingDepth + 1)); err == nil {
		t.Error("DecodePod of arrays nested deeper than the limit succeeded")
	}
	if _, err := DecodePod(nested(maxNestingDepth)); err != nil {
		t.Errorf("DecodePod of arrays nested to the limit: %v", err)
	}
	for _, depth := range []int{100, maxNestingDepth, maxNestingDepth + 1} {
		checkPodDecoder(t, nested(depth))
	}
}

func TestDecoderOnStage1Manifest(t *testing.T) {
	// The stage1 image manifest template of the repository has labels,
	// annotations and no app section.
	data, err := os.ReadFile("../../../aci-manifests/stage1-fly.manifest.in")
	if err != nil {
		t.Fatal(err)
	}
	checkImageDecoder(t, data)
	im, err := DecodeImage(data)
	if err != nil {
		t.Fatalf("DecodeImage: %v", err)
	}
	if _, ok := im.Annotations.Get("coreos.com/rkt/stage1/run"); !ok {
		t.Errorf("annotations %v lack coreos.com/rkt/stage1/run", im.Annotations)
	}
}

func FuzzDecodePod(f *testing.F) {
	for _, c := range decoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkPodDecoder)
}

func FuzzDecodeImage(f *testing.F) {
	for _, c := range decoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkImageDecoder)
}

// BenchmarkDecodeStage0Manifests decodes the pod manifest and image
// manifest that rkt's stage0 wrote for a pod of the /bin/true test image,
// as the run entrypoint does once per start.
func BenchmarkDecodeStage0Manifests(b *testing.B) {
	pod, err := os.ReadFile("testdata/pod-manifest.json")
	if err != nil {
		b.Fatal(err)
	}
	image, err := os.ReadFile("testdata/image-manifest.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePod(pod); err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeImage(image); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeRepeatedNames checks that a member name given twice, or twice
// in letter cases that match the same field, is an error, because rkt's
// stage0 and encoding/json would each read another manifest from it.
func TestDecodeRepeatedNames(t *testing.T) {
	for _, data := range []string{
		`{"acKind":"PodManifest","apps":[{"name":"a"}],"apps":[{"name":"b"}]}`,
		`{"acKind":"PodManifest","apps":[{"name":"a"}],"Apps":[{"name":"b"}]}`,
		`{"acKind":"PodManifest","apps":[{"name":"a","app":{"environment":[{"name":"A","value":"1"}],"environment":[{"name":"B"}]}}]}`,
		`{"acKind":"PodManifest","volumes":[{"name":"v","kind":"host","source":"/x","readOnly":true,"readOnly":false}]}`,
	} {
		if _, err := DecodePod([]byte(data)); !errors.Is(err, jsonname.ErrRepeated) {
			t.Errorf("DecodePod(%s) = %v, want an error wrapping jsonname.ErrRepeated", data, err)
		}
	}
}
