package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// imageEntry is what an image "contains" on the process node: the process to run
// instead of pulling and starting a container image. Command is the image's
// ENTRYPOINT, Args its CMD; a pod's command/args override them as in Kubernetes.
type imageEntry struct {
	Command    []string          `json:"command,omitempty"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
}

// imageTable is the JSON file {"<image>": imageEntry, ...}, re-read whenever its
// modification time or size changes, so tests can register images at any time.
type imageTable struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	entries map[string]imageEntry
}

func (t *imageTable) load() (map[string]imageEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := os.Stat(t.path)
	if os.IsNotExist(err) {
		return map[string]imageEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	if t.entries != nil && st.ModTime().Equal(t.modTime) && st.Size() == t.size {
		return t.entries, nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return nil, err
	}
	entries := map[string]imageEntry{}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, fmt.Errorf("image table %s: %v", t.path, err)
		}
	}
	t.entries, t.modTime, t.size = entries, st.ModTime(), st.Size()
	return entries, nil
}

// lookup finds an image: exactly, then without a registry prefix of docker.io,
// then without its tag or digest ("kernel-py" matches "elyra/kernel-py:3.2.3"
// only if registered as "elyra/kernel-py").
func (t *imageTable) lookup(image string) (imageEntry, bool, error) {
	entries, err := t.load()
	if err != nil {
		return imageEntry{}, false, err
	}
	for _, candidate := range imageCandidates(image) {
		if e, ok := entries[candidate]; ok {
			return e, true, nil
		}
	}
	return imageEntry{}, false, nil
}

func imageCandidates(image string) []string {
	out := []string{image}
	name := image
	for _, prefix := range []string{"docker.io/library/", "docker.io/"} {
		if strings.HasPrefix(name, prefix) {
			name = strings.TrimPrefix(name, prefix)
			out = append(out, name)
			break
		}
	}
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
		out = append(out, name)
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
		out = append(out, name)
	}
	return out
}
