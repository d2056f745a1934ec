package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podWorker runs one pod: its init containers in order, then its containers, each as a
// process group, and reports the pod's status after every change.
type podWorker struct {
	n *processNode

	mu          sync.Mutex
	pod         *v1.Pod
	init        map[string]*containerState
	main        map[string]*containerState
	initDone    bool
	startTime   metav1.Time
	terminating chan struct{} // closed when the pod must stop
	grace       time.Duration
	gone        bool // removed from the API: no final status or delete
	finished    chan struct{}

	syncMu sync.Mutex
}

type containerState struct {
	name         string
	image        string
	status       v1.ContainerState
	lastState    v1.ContainerState
	restartCount int32
	ready        bool
	proc         *exec.Cmd
	exited       chan struct{}
}

func newPodWorker(n *processNode, pod *v1.Pod) *podWorker {
	w := &podWorker{
		n: n, pod: pod.DeepCopy(),
		init: map[string]*containerState{}, main: map[string]*containerState{},
		startTime: metav1.Now(), terminating: make(chan struct{}), finished: make(chan struct{}),
	}
	waiting := v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}}
	for _, c := range pod.Spec.InitContainers {
		w.init[c.Name] = &containerState{name: c.Name, image: c.Image, status: waiting}
	}
	if len(pod.Spec.InitContainers) == 0 {
		w.initDone = true
		waiting = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	}
	for _, c := range pod.Spec.Containers {
		w.main[c.Name] = &containerState{name: c.Name, image: c.Image, status: waiting}
	}
	return w
}

func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod.DeepCopy()
	w.mu.Unlock()
}

func (w *podWorker) currentPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// terminate asks the worker to stop the pod with the given grace period (once).
func (w *podWorker) terminate(grace time.Duration) {
	w.mu.Lock()
	select {
	case <-w.terminating:
		w.mu.Unlock()
		return
	default:
	}
	w.grace = grace
	close(w.terminating)
	w.mu.Unlock()
}

func (w *podWorker) stopping() bool {
	select {
	case <-w.terminating:
		return true
	default:
		return false
	}
}

func (w *podWorker) event(c *v1.Container, kind string, fieldPath, reason, format string, args ...any) {
	pod := w.currentPod()
	ref := &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion,
	}
	if c != nil {
		ref.FieldPath = fieldPath
	}
	w.n.recorder.Eventf(ref, kind, reason, format, args...)
}

// run is the pod's lifecycle.
func (w *podWorker) run() {
	defer close(w.finished)
	pod := w.currentPod()
	logDir := w.n.podLogDir(pod)
	_ = os.MkdirAll(logDir, 0o755)
	_ = os.MkdirAll(w.n.sandboxDir(pod), 0o755)
	w.sync()

	containersDone := make(chan struct{})
	go func() {
		defer close(containersDone)
		w.runContainers(pod)
	}()
	<-w.terminating
	// Kill until nothing runs: a container may have been starting when we looked.
	for {
		w.killAll(w.grace)
		select {
		case <-containersDone:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	if w.gone {
		return
	}
	w.sync()
	w.n.finalDelete(w.currentPod())
}

// runContainers runs the init containers in order, then all containers, until they are
// done under the restart policy or the pod is stopped.
func (w *podWorker) runContainers(pod *v1.Pod) {
	ok := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if !w.runInit(c, fmt.Sprintf("spec.initContainers{%s}", c.Name)) {
			ok = false
			break
		}
	}
	if ok && !w.stopping() {
		w.mu.Lock()
		w.initDone = true
		for _, cs := range w.main {
			cs.status = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}
		w.mu.Unlock()
		w.sync()
		var wg sync.WaitGroup
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.runContainer(c, w.main[c.Name], fmt.Sprintf("spec.containers{%s}", c.Name))
			}()
		}
		wg.Wait()
	}
}

// runInit runs an init container to success, retrying as the restart policy says.
func (w *podWorker) runInit(c *v1.Container, fieldPath string) bool {
	cs := w.init[c.Name]
	for !w.stopping() {
		code := w.runOnce(c, cs, fieldPath)
		if code == 0 {
			return true
		}
		if code < 0 || w.currentPod().Spec.RestartPolicy == v1.RestartPolicyNever {
			return false
		}
		if !w.crashBackoff(c, cs, fieldPath) {
			return false
		}
	}
	return false
}

// runContainer runs a container until it is done under the pod's restart policy or the
// pod is stopped.
func (w *podWorker) runContainer(c *v1.Container, cs *containerState, fieldPath string) {
	for !w.stopping() {
		code := w.runOnce(c, cs, fieldPath)
		if code < 0 || w.stopping() {
			return
		}
		policy := w.currentPod().Spec.RestartPolicy
		if policy == v1.RestartPolicyNever || (policy == v1.RestartPolicyOnFailure && code == 0) {
			return
		}
		if !w.crashBackoff(c, cs, fieldPath) {
			return
		}
	}
}

// crashBackoff restarts immediately after the first exit, then waits in
// CrashLoopBackOff for 10 s, 20 s, 40 s... like the kubelet. false if the pod stops.
func (w *podWorker) crashBackoff(c *v1.Container, cs *containerState, fieldPath string) bool {
	w.mu.Lock()
	restarts := cs.restartCount
	w.mu.Unlock()
	if restarts > 0 {
		delay := w.n.cfg.crashBackoff << (restarts - 1)
		if delay > w.n.cfg.maxBackoff || delay <= 0 {
			delay = w.n.cfg.maxBackoff
		}
		pod := w.currentPod()
		w.mu.Lock()
		cs.lastState = cs.status
		cs.status = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, pod.Name, pod.Namespace, pod.UID),
		}}
		w.mu.Unlock()
		w.event(c, v1.EventTypeWarning, fieldPath, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, pod.Name, pod.Namespace, pod.UID)
		w.sync()
		select {
		case <-w.terminating:
			return false
		case <-time.After(delay):
		}
	}
	w.mu.Lock()
	cs.restartCount++
	w.mu.Unlock()
	return true
}

// runOnce pulls (looks up) the image, starts the process and waits for it. It returns
// the exit code, or -1 if the pod was stopped before the container exited.
func (w *podWorker) runOnce(c *v1.Container, cs *containerState, fieldPath string) int {
	entry, ok := w.pullImage(c, cs, fieldPath)
	if !ok {
		return -1
	}
	var (
		spec processSpec
		err  error
	)
	for {
		spec, err = w.n.processSpec(w.currentPod(), c, entry)
		if err == nil {
			break
		}
		w.setWaiting(cs, "CreateContainerConfigError", err.Error())
		w.event(c, v1.EventTypeWarning, fieldPath, "Failed", "Error: %v", err)
		w.sync()
		select {
		case <-w.terminating:
			return -1
		case <-time.After(2 * time.Second):
		}
	}
	pod := w.currentPod()
	w.mu.Lock()
	restart := cs.restartCount
	w.mu.Unlock()
	logPath := filepath.Join(w.n.podLogDir(pod), c.Name, fmt.Sprintf("%d.log", restart))
	if w.stopping() {
		return -1
	}
	w.event(c, v1.EventTypeNormal, fieldPath, "Created", "Created container: %s", c.Name)
	cmd, err := startProcess(spec, logPath)
	if err != nil {
		w.mu.Lock()
		if cs.status.Terminated != nil {
			cs.lastState = cs.status
		}
		cs.status = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
			ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: metav1.Unix(0, 0), FinishedAt: metav1.Now(),
		}}
		w.mu.Unlock()
		w.event(c, v1.EventTypeWarning, fieldPath, "Failed", "Error: %v", err)
		w.sync()
		return 128
	}
	exited := make(chan struct{})
	w.mu.Lock()
	if cs.status.Terminated != nil {
		cs.lastState = cs.status
	}
	cs.proc, cs.exited = cmd, exited
	started := metav1.Now()
	cs.status = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: started}}
	cs.ready = true
	w.mu.Unlock()
	w.n.recordPgid(cmd.Process.Pid)
	w.event(c, v1.EventTypeNormal, fieldPath, "Started", "Started container %s", c.Name)
	w.sync()

	waitErr := cmd.Wait()
	// The container's other processes die with it, as with a PID namespace.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	w.n.forgetPgid(cmd.Process.Pid)
	code := exitCode(cmd, waitErr)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	w.mu.Lock()
	cs.proc = nil
	cs.ready = false
	cs.status = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: metav1.Now(),
		ContainerID: cs.containerID(cmd.Process.Pid),
	}}
	close(exited)
	w.mu.Unlock()
	w.sync()
	return code
}

func (cs *containerState) containerID(pid int) string {
	return fmt.Sprintf("gp-process://%d", pid)
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return 128
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
	}
	return cmd.ProcessState.ExitCode()
}

// pullImage "pulls" an image by looking it up in the image table. Missing images go
// through ErrImagePull and ImagePullBackOff with the kubelet's events, and are looked up
// again after each back-off (or as soon as the table changes).
func (w *podWorker) pullImage(c *v1.Container, cs *containerState, fieldPath string) (imageEntry, bool) {
	delay := w.n.cfg.pullBackoff
	for attempt := 0; ; attempt++ {
		entry, found, err := w.n.cfg.images.lookup(c.Image)
		if found {
			if attempt == 0 {
				w.event(c, v1.EventTypeNormal, fieldPath, "Pulled", "Container image %q already present on machine", c.Image)
			} else {
				w.event(c, v1.EventTypeNormal, fieldPath, "Pulled", "Successfully pulled image %q", c.Image)
			}
			return entry, true
		}
		w.event(c, v1.EventTypeNormal, fieldPath, "Pulling", "Pulling image %q", c.Image)
		msg := fmt.Sprintf("failed to pull and unpack image %q: image is not in the process node's image table", c.Image)
		if err != nil {
			msg = fmt.Sprintf("failed to pull image %q: %v", c.Image, err)
		}
		w.event(c, v1.EventTypeWarning, fieldPath, "Failed", "Failed to pull image %q: %s", c.Image, msg)
		w.event(c, v1.EventTypeWarning, fieldPath, "Failed", "Error: ErrImagePull")
		w.setWaiting(cs, "ErrImagePull", msg)
		w.sync()
		if !w.sleepOrImageChange(c.Image, time.Second) {
			return imageEntry{}, false
		}
		w.setWaiting(cs, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image))
		w.event(c, v1.EventTypeNormal, fieldPath, "BackOff", "Back-off pulling image %q", c.Image)
		w.event(c, v1.EventTypeWarning, fieldPath, "Failed", "Error: ImagePullBackOff")
		w.sync()
		if !w.sleepOrImageChange(c.Image, delay) {
			return imageEntry{}, false
		}
		delay *= 2
		if delay > w.n.cfg.maxBackoff {
			delay = w.n.cfg.maxBackoff
		}
	}
}

// sleepOrImageChange waits d, returning early when image appears in the table;
// false if the pod is being stopped.
func (w *podWorker) sleepOrImageChange(image string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-w.terminating:
			return false
		case <-time.After(500 * time.Millisecond):
		}
		if _, found, _ := w.n.cfg.images.lookup(image); found {
			return true
		}
	}
	return true
}

func (w *podWorker) setWaiting(cs *containerState, reason, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cs.status.Terminated != nil {
		cs.lastState = cs.status
	}
	cs.status = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
	cs.ready = false
}

// killAll stops every running container: SIGTERM to its process group, SIGKILL after
// the grace period.
func (w *podWorker) killAll(grace time.Duration) {
	w.mu.Lock()
	type running struct {
		name   string
		pid    int
		exited chan struct{}
	}
	var procs []running
	for _, cs := range w.allContainers() {
		if cs.proc != nil && cs.proc.Process != nil {
			procs = append(procs, running{cs.name, cs.proc.Process.Pid, cs.exited})
		}
	}
	pod := w.pod
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !w.gone {
				c := findContainer(pod, p.name)
				w.event(c, v1.EventTypeNormal, fieldPathOf(pod, p.name), "Killing", "Stopping container %s", p.name)
			}
			_ = syscall.Kill(-p.pid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(grace):
				_ = syscall.Kill(-p.pid, syscall.SIGKILL)
				<-p.exited
			}
		}()
	}
	wg.Wait()
	// Containers that never ran are reported as terminated too once the pod is gone.
	w.mu.Lock()
	for _, cs := range w.allContainers() {
		if cs.status.Waiting != nil {
			cs.status = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: 137, Reason: "ContainerStatusUnknown",
				Message: "The container could not be located when the pod was terminated",
			}}
		}
	}
	w.mu.Unlock()
}

func (w *podWorker) allContainers() []*containerState {
	out := make([]*containerState, 0, len(w.init)+len(w.main))
	for _, cs := range w.init {
		out = append(out, cs)
	}
	for _, cs := range w.main {
		out = append(out, cs)
	}
	return out
}

func findContainer(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func fieldPathOf(pod *v1.Pod, name string) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}

// --- Status ---------------------------------------------------------------------------

// sync posts the pod's status computed from the containers' states.
func (w *podWorker) sync() {
	if w.gone {
		return
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods := w.n.client.CoreV1().Pods(w.currentPod().Namespace)
	for attempt := 0; attempt < 10; attempt++ {
		pod := w.currentPod()
		if attempt > 0 {
			fresh, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				if !apierrors.IsNotFound(err) {
					logf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
				}
				return
			}
			if fresh.UID != pod.UID {
				return
			}
			w.update(fresh)
			pod = fresh
		}
		if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			return // terminal phases are final
		}
		updated := pod.DeepCopy()
		updated.Status = w.status(pod)
		result, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		if err == nil {
			w.update(result)
			return
		}
		if apierrors.IsNotFound(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			logf("pod %s/%s status: %v", pod.Namespace, pod.Name, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (w *podWorker) status(pod *v1.Pod) v1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := *pod.Status.DeepCopy()
	st.HostIP = nodeIP
	st.HostIPs = []v1.HostIP{{IP: nodeIP}}
	st.PodIP = nodeIP
	st.PodIPs = []v1.PodIP{{IP: nodeIP}}
	st.StartTime = &w.startTime
	if st.QOSClass == "" {
		st.QOSClass = v1.PodQOSBestEffort
	}
	st.InitContainerStatuses = w.containerStatuses(pod.Spec.InitContainers, w.init)
	st.ContainerStatuses = w.containerStatuses(pod.Spec.Containers, w.main)
	st.Phase = w.phase(pod)

	allReady := w.initDone && len(w.main) > 0
	for _, cs := range w.main {
		allReady = allReady && cs.ready
	}
	reason := ""
	if !allReady {
		reason = "ContainersNotReady"
		if st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed {
			reason = "PodCompleted"
		}
	}
	setCondition(&st, v1.PodReadyToStartContainers, true, "")
	initReason := ""
	if !w.initDone {
		initReason = "ContainersNotInitialized"
	}
	setCondition(&st, v1.PodInitialized, w.initDone, initReason)
	setCondition(&st, v1.ContainersReady, allReady, reason)
	setCondition(&st, v1.PodReady, allReady, reason)
	return st
}

func setCondition(st *v1.PodStatus, t v1.PodConditionType, ok bool, reason string) {
	status := v1.ConditionFalse
	if ok {
		status = v1.ConditionTrue
	}
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != status {
				st.Conditions[i].LastTransitionTime = metav1.Now()
			}
			st.Conditions[i].Status, st.Conditions[i].Reason = status, reason
			return
		}
	}
	st.Conditions = append(st.Conditions, v1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.Now()})
}

func (w *podWorker) containerStatuses(specs []v1.Container, states map[string]*containerState) []v1.ContainerStatus {
	out := make([]v1.ContainerStatus, 0, len(specs))
	for _, c := range specs {
		cs := states[c.Name]
		started := cs.status.Running != nil
		out = append(out, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "gp-process://" + c.Image,
			State: cs.status, LastTerminationState: cs.lastState,
			Ready: cs.ready, RestartCount: cs.restartCount, Started: &started,
			ContainerID: containerIDOf(cs),
		})
	}
	return out
}

func containerIDOf(cs *containerState) string {
	if cs.proc != nil && cs.proc.Process != nil {
		return cs.containerID(cs.proc.Process.Pid)
	}
	if cs.status.Terminated != nil {
		return cs.status.Terminated.ContainerID
	}
	return ""
}

// phase follows the kubelet's getPhase.
func (w *podWorker) phase(pod *v1.Pod) v1.PodPhase {
	if !w.initDone {
		for _, cs := range w.init {
			if t := cs.status.Terminated; t != nil && t.ExitCode != 0 && pod.Spec.RestartPolicy == v1.RestartPolicyNever {
				return v1.PodFailed
			}
		}
		return v1.PodPending
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range w.main {
		switch {
		case cs.status.Running != nil:
			running++
		case cs.status.Terminated != nil:
			stopped++
			if cs.status.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.status.Waiting != nil:
			if cs.lastState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		}
	}
	switch {
	case waiting > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case stopped > 0:
		if pod.DeletionTimestamp != nil && w.stopping() {
			// Stopped because the pod is being deleted.
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
		switch pod.Spec.RestartPolicy {
		case v1.RestartPolicyAlways:
			return v1.PodRunning
		case v1.RestartPolicyOnFailure:
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodRunning
		default:
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
	}
	return v1.PodPending
}

// --- Processes ------------------------------------------------------------------------

type processSpec struct {
	argv []string
	path string
	env  []string
	dir  string
	// hostname the process sees (its own UTS namespace when the node runs as root).
	hostname string
}

// processSpec resolves what to run for a container: the image's entrypoint/cmd overridden
// by the pod's command/args, $(VAR) expansion, env (with valueFrom), and working dir.
func (n *processNode) processSpec(pod *v1.Pod, c *v1.Container, image imageEntry) (processSpec, error) {
	env := map[string]string{
		"PATH":     n.cfg.basePath,
		"HOSTNAME": podHostname(pod.Name, pod.Spec.Hostname),
		"HOME":     n.sandboxDir(pod),
	}
	if n.cfg.apiHost != "" {
		env["KUBERNETES_SERVICE_HOST"] = n.cfg.apiHost
		env["KUBERNETES_SERVICE_PORT"] = n.cfg.apiPort
		env["KUBERNETES_SERVICE_PORT_HTTPS"] = n.cfg.apiPort
	}
	for k, v := range image.Env {
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, from := range c.EnvFrom {
		data, err := n.envSource(ctx, pod.Namespace, from)
		if err != nil {
			return processSpec{}, err
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandVars(e.Value, lookup)
			continue
		}
		v, err := n.envValueFrom(ctx, pod, e.ValueFrom)
		if err != nil {
			return processSpec{}, fmt.Errorf("env %s: %v", e.Name, err)
		}
		env[e.Name] = v
	}

	argv := append([]string{}, image.Command...)
	args := image.Args
	if len(c.Command) > 0 {
		argv = append([]string{}, c.Command...)
		args = nil
	}
	if len(c.Args) > 0 {
		args = c.Args
	}
	if len(c.Command) > 0 || len(c.Args) > 0 {
		for i := range argv {
			argv[i] = expandVars(argv[i], lookup)
		}
		for _, a := range args {
			argv = append(argv, expandVars(a, lookup))
		}
	} else {
		argv = append(argv, args...)
	}
	if len(argv) == 0 {
		return processSpec{}, fmt.Errorf("no command specified: image %q has no command and the container sets none", c.Image)
	}

	dir := c.WorkingDir
	if dir == "" {
		dir = image.WorkingDir
	}
	if dir == "" {
		dir = n.sandboxDir(pod)
	}

	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	envList := make([]string, 0, len(keys))
	for _, k := range keys {
		envList = append(envList, k+"="+env[k])
	}
	return processSpec{argv: argv, path: lookPath(argv[0], env["PATH"]), env: envList, dir: dir, hostname: env["HOSTNAME"]}, nil
}

// lookPath resolves a command in the container's PATH (not the node's), as a runtime does.
func lookPath(name, path string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		candidate := filepath.Join(dir, name)
		if st, err := os.Stat(candidate); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return candidate
		}
	}
	return name
}

func startProcess(spec processSpec, logPath string) (*exec.Cmd, error) {
	if !strings.Contains(spec.path, "/") {
		return nil, fmt.Errorf("exec: %q: executable file not found in $PATH", spec.argv[0])
	}
	if st, err := os.Stat(spec.dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("working directory %q does not exist on the process node", spec.dir)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// Checked here (not only by exec) so that a missing or non-executable command stays a StartError,
	// also when pod-init would be the process that execs it.
	if st, err := os.Stat(spec.path); err != nil {
		return nil, fmt.Errorf("exec: %q: %v", spec.argv[0], err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("exec: %q: permission denied", spec.path)
	}
	newCmd := func() *exec.Cmd {
		return &exec.Cmd{
			Path: spec.path, Args: spec.argv, Env: spec.env, Dir: spec.dir,
			Stdout: logFile, Stderr: logFile,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
		}
	}
	// As root, each pod process gets its own UTS namespace with the pod's hostname (pod-init sets
	// it and execs the command in place). Without the privilege it runs with the machine's hostname.
	if self, err := os.Executable(); err == nil && spec.hostname != "" && os.Geteuid() == 0 {
		if cmd, started, err := startWithPodInit(newCmd(), self, spec); started {
			return cmd, err
		}
	}
	cmd := newCmd()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// startWithPodInit starts the container through pod-init in a new UTS namespace and returns once
// its own command runs (pod-init's status pipe closed by the exec), as a runtime reports a container
// started only then. started is false when no new namespace could be made (the caller starts the
// process without one); err says why the command could not start.
func startWithPodInit(cmd *exec.Cmd, self string, spec processSpec) (_ *exec.Cmd, started bool, _ error) {
	cmd.Path = self
	cmd.Args = append([]string{"gp-testcluster", "pod-init", "--hostname", spec.hostname, "--", spec.path}, spec.argv...)
	cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUTS
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, false, nil
	}
	defer statusR.Close()
	cmd.ExtraFiles = []*os.File{statusW}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return nil, false, nil
	}
	msg, _ := io.ReadAll(statusR)
	if len(msg) > 0 {
		_ = cmd.Wait()
		return nil, true, errors.New(string(msg))
	}
	return cmd, true, nil
}

// expandVars does Kubernetes' $(VAR) expansion: $(NAME) becomes the value of NAME if
// defined (else stays as is), $$ becomes $.
func expandVars(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func (n *processNode) envValueFrom(ctx context.Context, pod *v1.Pod, from *v1.EnvVarSource) (string, error) {
	switch {
	case from.FieldRef != nil:
		return podField(pod, from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		return "", fmt.Errorf("resourceFieldRef is not supported by the process node")
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := n.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ref.Optional != nil && *ref.Optional && apierrors.IsNotFound(err) {
				return "", nil
			}
			return "", fmt.Errorf("configmap %q: %v", ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, nil
		}
		if ref.Optional != nil && *ref.Optional {
			return "", nil
		}
		return "", fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := n.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ref.Optional != nil && *ref.Optional && apierrors.IsNotFound(err) {
				return "", nil
			}
			return "", fmt.Errorf("secret %q: %v", ref.Name, err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), nil
		}
		if ref.Optional != nil && *ref.Optional {
			return "", nil
		}
		return "", fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
	}
	return "", nil
}

func (n *processNode) envSource(ctx context.Context, namespace string, from v1.EnvFromSource) (map[string]string, error) {
	out := map[string]string{}
	switch {
	case from.ConfigMapRef != nil:
		cm, err := n.client.CoreV1().ConfigMaps(namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional && apierrors.IsNotFound(err) {
				return out, nil
			}
			return nil, fmt.Errorf("configmap %q: %v", from.ConfigMapRef.Name, err)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	case from.SecretRef != nil:
		s, err := n.client.CoreV1().Secrets(namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			if from.SecretRef.Optional != nil && *from.SecretRef.Optional && apierrors.IsNotFound(err) {
				return out, nil
			}
			return nil, fmt.Errorf("secret %q: %v", from.SecretRef.Name, err)
		}
		for k, v := range s.Data {
			out[k] = string(v)
		}
	}
	return out, nil
}

// podField implements the downward API's fieldRef paths.
func podField(pod *v1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return nodeIP, nil
	}
	for _, prefix := range []string{"metadata.labels", "metadata.annotations"} {
		if strings.HasPrefix(path, prefix+"['") && strings.HasSuffix(path, "']") {
			key := path[len(prefix)+2 : len(path)-2]
			if prefix == "metadata.labels" {
				return pod.Labels[key], nil
			}
			return pod.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// --- Process group bookkeeping (for cleaning up after a killed run) -------------------

func (n *processNode) pgidDir() string { return filepath.Join(n.cfg.podsDir, ".pgids") }

func (n *processNode) recordPgid(pid int) {
	_ = os.MkdirAll(n.pgidDir(), 0o755)
	_ = os.WriteFile(filepath.Join(n.pgidDir(), strconv.Itoa(pid)), nil, 0o644)
}

func (n *processNode) forgetPgid(pid int) {
	_ = os.Remove(filepath.Join(n.pgidDir(), strconv.Itoa(pid)))
}
