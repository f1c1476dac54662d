package functional

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// etcdKV is a client of etcd's v3 JSON gateway on 127.0.0.1.
type etcdKV struct {
	url    string
	client *http.Client
}

func (kv etcdKV) post(path string, body map[string]string) ([]byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	resp, err := kv.client.Post(kv.url+path, "application/json", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: status %s: %s", path, resp.Status, out)
	}
	return out, nil
}

func (kv etcdKV) put(key, value string) error {
	b64 := base64.StdEncoding.EncodeToString
	_, err := kv.post("/v3/kv/put", map[string]string{"key": b64([]byte(key)), "value": b64([]byte(value))})
	return err
}

func (kv etcdKV) get(key string) (string, error) {
	out, err := kv.post("/v3/kv/range", map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	if err != nil {
		return "", err
	}
	var resp struct {
		KVs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return "", fmt.Errorf("decode range response %s: %w", out, err)
	}
	if len(resp.KVs) == 0 {
		return "", fmt.Errorf("key %q not found", key)
	}
	value, err := base64.StdEncoding.DecodeString(resp.KVs[0].Value)
	return string(value), err
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

	kv := etcdKV{url: client, client: &http.Client{Timeout: 2 * time.Second}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := kv.post("/v3/kv/range", map[string]string{"key": "cHJvYmU="})
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
