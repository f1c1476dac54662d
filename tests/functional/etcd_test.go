package functional

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testbuild"
)

// freeLoopbackPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// etcdKV runs Debian's etcdctl (v3 API) against one endpoint on 127.0.0.1.
type etcdKV struct {
	endpoint string
}

func (kv etcdKV) etcdctl(args ...string) (string, error) {
	path, err := exec.LookPath("etcdctl")
	if err != nil {
		return "", fmt.Errorf("etcdctl not found (scripts/install-deps installs etcd-client): %w", err)
	}
	cmd := exec.Command(path, append([]string{"--endpoints=" + kv.endpoint, "--dial-timeout=2s", "--command-timeout=5s"}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("etcdctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (kv etcdKV) put(key, value string) error {
	_, err := kv.etcdctl("put", key, value)
	return err
}

func (kv etcdKV) get(key string) (string, error) {
	out, err := kv.etcdctl("get", key, "--print-value-only")
	if err != nil {
		return "", err
	}
	value := strings.TrimSuffix(out, "\n")
	if value == "" {
		return "", fmt.Errorf("key %q not found", key)
	}
	return value, nil
}

// startEtcd starts etcd under rkt with its data on a host volume and its
// configuration in ETCD_* variables that --inherit-env passes in.
func startEtcd(t *testing.T, e *rktEnv, dataDir string) (*exec.Cmd, etcdKV) {
	t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", freeLoopbackPort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freeLoopbackPort(t))
	e.extraEnv = []string{
		"ETCD_NAME=functional",
		"ETCD_LISTEN_CLIENT_URLS=" + client,
		"ETCD_ADVERTISE_CLIENT_URLS=" + client,
		"ETCD_LISTEN_PEER_URLS=" + peer,
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=" + peer,
		"ETCD_INITIAL_CLUSTER=functional=" + peer,
	}
	cmd := e.command("run", "--inherit-env", "--net=host",
		"--volume=data,kind=host,source="+dataDir, testbuild.Image(t, "etcd"))
	logFile, err := os.Create(filepath.Join(e.scratch, fmt.Sprintf("etcd-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	kv := etcdKV{endpoint: client}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := kv.etcdctl("endpoint", "health")
		if err == nil {
			return cmd, kv
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("etcd did not answer on %s: %v\nlog:\n%s", client, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopEtcd sends SIGTERM to rkt's pid, which the app replaced, and waits.
func stopEtcd(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && !strings.Contains(err.Error(), "signal: terminated") {
			t.Logf("etcd exited: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("etcd did not stop within 30s of SIGTERM")
	}
}

func TestRunEtcdKeepsDataAcrossRuns(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	dataDir := filepath.Join(e.scratch, "etcd-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}

	cmd, kv := startEtcd(t, e, dataDir)
	if err := kv.put("functional-key", "kept"); err != nil {
		t.Fatal(err)
	}
	stopEtcd(t, cmd)

	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("etcd wrote nothing to the host data volume")
	}

	cmd, kv = startEtcd(t, e, dataDir)
	got, err := kv.get("functional-key")
	if err != nil {
		t.Fatal(err)
	}
	if got != "kept" {
		t.Errorf("value after restart = %q, want kept", got)
	}
	stopEtcd(t, cmd)
}
