package trust_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/rktfly/rkt/internal/testtls"
)

// testCA is a certificate authority made for one test, with a server
// certificate for the given names.
type testCA struct {
	certFile string // PEM of the CA certificate, for SSL_CERT_FILE
	server   tls.Certificate
}

func newTestCA(t *testing.T, dir string, names ...string) *testCA {
	t.Helper()
	ca := testtls.NewCA(t, names...)
	certFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(certFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &testCA{certFile: certFile, server: ca.Server}
}
