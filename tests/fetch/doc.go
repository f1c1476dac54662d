// Package fetch holds functional tests of rkt fetch and rkt image: they run
// the built rkt binary as root, each test in private mount and network
// namespaces where the test names resolve to 127.0.0.1 and an https server
// with a certificate authority made at test time listens on 127.0.0.1:443.
package fetch
