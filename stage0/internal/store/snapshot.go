package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// snapshot is a copy of the index buckets that lookups read, taken in one
// read transaction, so that the lookups of one command open the index once.
// Every write through update drops it.
type snapshot struct {
	buckets map[string]*bucketCopy
}

// bucketCopy holds the entries of one bucket in key order.
type bucketCopy struct {
	keys   []string
	values map[string][]byte
}

// snapshotBuckets are the buckets a snapshot copies.
var snapshotBuckets = [][]byte{bucketImages, bucketFiles, bucketVerified, bucketRemotes}

// get decodes the JSON entry key of bucket into v and reports whether the
// entry exists.
func (snap *snapshot) get(bucket []byte, key string, v any) (bool, error) {
	b := snap.buckets[string(bucket)]
	if b == nil {
		return false, nil
	}
	data, ok := b.values[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode index entry %q: %w", key, err)
	}
	return true, nil
}

// loadSnapshot returns the snapshot of the index, reading it when this Store
// has none.
func (s *Store) loadSnapshot() (*snapshot, error) {
	s.mu.Lock()
	snap := s.snap
	s.mu.Unlock()
	if snap != nil {
		return snap, nil
	}

	snap = &snapshot{buckets: make(map[string]*bucketCopy, len(snapshotBuckets))}
	err := s.view(func(tx *bolt.Tx) error {
		for _, name := range snapshotBuckets {
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			c := &bucketCopy{values: make(map[string][]byte)}
			err := b.ForEach(func(k, v []byte) error {
				key := string(k)
				c.keys = append(c.keys, key)
				// bbolt's slices are valid only inside the transaction.
				c.values[key] = bytes.Clone(v)
				return nil
			})
			if err != nil {
				return err
			}
			snap.buckets[string(name)] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
	return snap, nil
}
