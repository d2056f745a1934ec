package main

// The process node: the one simulated part of the test cluster. It stands in for a
// kubelet: it registers a Node, keeps its lease fresh, and runs the containers of the
// pods the scheduler binds to it as local processes (one process group per container),
// reporting pod status and events the way a kubelet does. See the testkit README for
// what it does and does not simulate.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// nodeIP is the address of the node and of every pod on it: pods are local processes.
const nodeIP = "127.0.0.1"

type nodeConfig struct {
	name         string
	capacity     v1.ResourceList
	images       *imageTable
	logDir       string
	podsDir      string
	pullBackoff  time.Duration
	crashBackoff time.Duration
	maxBackoff   time.Duration
	basePath     string
	apiHost      string
	apiPort      string
}

type processNode struct {
	cfg      nodeConfig
	client   kubernetes.Interface
	recorder record.EventRecorder

	mu   sync.Mutex
	pods map[types.UID]*podWorker
}

func runProcessNode(args []string) int {
	fs := flag.NewFlagSet("process-node", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig with the node's credentials (CN=system:node:<name>, O=system:nodes)")
	name := fs.String("node-name", "gp-node", "name of the Node to register")
	capacity := fs.String("capacity", "cpu=4,memory=8Gi,pods=110,ephemeral-storage=20Gi",
		"node capacity as name=quantity pairs, e.g. cpu=4,memory=8Gi,nvidia.com/gpu=1")
	imagesFile := fs.String("images", "", "JSON file with the image table (re-read when it changes)")
	logDir := fs.String("log-dir", "", "directory for container stdout/stderr (<ns>_<pod>_<uid>/<container>/<restart>.log)")
	podsDir := fs.String("pods-dir", "", "directory for per-pod sandboxes (default working dir and HOME of containers)")
	pullBackoff := fs.Duration("image-pull-backoff", 10*time.Second, "first ImagePullBackOff delay (doubles, capped by --max-backoff)")
	crashBackoff := fs.Duration("crash-loop-backoff", 10*time.Second, "first CrashLoopBackOff delay (doubles, capped by --max-backoff)")
	maxBackoff := fs.Duration("max-backoff", 5*time.Minute, "cap of both back-offs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" || *imagesFile == "" || *logDir == "" || *podsDir == "" {
		fmt.Fprintln(os.Stderr, "process-node: --kubeconfig, --images, --log-dir and --pods-dir are required")
		return 2
	}
	caps, err := parseCapacity(*capacity)
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-node:", err)
		return 2
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-node: kubeconfig:", err)
		return 1
	}
	restCfg.UserAgent = "gp-process-node"
	restCfg.QPS, restCfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-node: client:", err)
		return 1
	}
	host, port := splitHostPort(restCfg.Host)
	n := &processNode{
		cfg: nodeConfig{
			name: *name, capacity: caps, images: &imageTable{path: *imagesFile},
			logDir: *logDir, podsDir: *podsDir,
			pullBackoff: *pullBackoff, crashBackoff: *crashBackoff, maxBackoff: *maxBackoff,
			basePath: os.Getenv("PATH"), apiHost: host, apiPort: port,
		},
		client: client,
		pods:   map[types.UID]*podWorker{},
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	n.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: *name})

	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		logf("stopping on %s", sig)
		cancel()
	}()

	if err := n.register(ctx); err != nil {
		logf("registering node: %v", err)
		n.stopAll()
		return 1
	}
	go n.heartbeat(ctx)
	n.watchPods(ctx)
	<-ctx.Done()
	n.stopAll()
	broadcaster.Shutdown()
	return 0
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s process-node: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func parseCapacity(s string) (v1.ResourceList, error) {
	caps := v1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--capacity entry %q is not name=quantity", kv)
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("--capacity %s: %q is not a quantity: %v", k, v, err)
		}
		caps[v1.ResourceName(k)] = q
	}
	if _, ok := caps[v1.ResourcePods]; !ok {
		caps[v1.ResourcePods] = resource.MustParse("110")
	}
	return caps, nil
}

func splitHostPort(u string) (string, string) {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	u, _, _ = strings.Cut(u, "/")
	if i := strings.LastIndex(u, ":"); i >= 0 {
		return u[:i], u[i+1:]
	}
	return u, "443"
}

// --- Node registration, status and lease ---------------------------------------------

func (n *processNode) nodeStatus() v1.NodeStatus {
	now := metav1.Now()
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return v1.NodeStatus{
		Capacity:    n.cfg.capacity.DeepCopy(),
		Allocatable: n.cfg.capacity.DeepCopy(),
		Phase:       v1.NodeRunning,
		Conditions: []v1.NodeCondition{
			cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "process node is posting ready status"),
		},
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: nodeIP},
			{Type: v1.NodeHostName, Address: n.cfg.name},
		},
		NodeInfo: v1.NodeSystemInfo{
			KubeletVersion:          kubernetesVersion,
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "gp-process://" + kubernetesVersion,
			OSImage:                 "gp process node",
		},
	}
}

func (n *processNode) register(ctx context.Context) error {
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.cfg.name,
			Labels: map[string]string{
				"kubernetes.io/hostname": n.cfg.name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Status: n.nodeStatus(),
	}
	var lastErr error
	// Started together with the API server: retry for up to 3 minutes.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			if err := n.updateNodeStatus(ctx); err != nil {
				lastErr = err
			} else {
				logf("registered node %s (capacity %v)", n.cfg.name, describeResources(n.cfg.capacity))
				return nil
			}
		} else {
			lastErr = err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return lastErr
}

func describeResources(rl v1.ResourceList) string {
	parts := []string{}
	for k, v := range rl {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v.String()))
	}
	return strings.Join(parts, ",")
}

func (n *processNode) updateNodeStatus(ctx context.Context) error {
	cur, err := n.client.CoreV1().Nodes().Get(ctx, n.cfg.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur.Status = n.nodeStatus()
	_, err = n.client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the node's Lease every 10 s (what the node lifecycle controller
// watches) and re-posts the node status every minute.
func (n *processNode) heartbeat(ctx context.Context) {
	leases := n.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	lastStatus := time.Now()
	for {
		if err := n.renewLease(ctx, leases); err != nil && ctx.Err() == nil {
			logf("lease: %v", err)
		}
		if time.Since(lastStatus) > time.Minute {
			if err := n.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
				logf("node status: %v", err)
			} else {
				lastStatus = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

func (n *processNode) renewLease(ctx context.Context, leases interface {
	Get(context.Context, string, metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(context.Context, *coordinationv1.Lease, metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(context.Context, *coordinationv1.Lease, metav1.UpdateOptions) (*coordinationv1.Lease, error)
}) error {
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, n.cfg.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := n.client.CoreV1().Nodes().Get(ctx, n.cfg.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.cfg.name, Namespace: v1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(n.cfg.name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// --- Pods ----------------------------------------------------------------------------

func (n *processNode) watchPods(ctx context.Context) {
	factory := informers.NewSharedInformerFactoryWithOptions(n.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.cfg.name).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.podChanged(obj.(*v1.Pod)) },
		UpdateFunc: func(_, obj any) { n.podChanged(obj.(*v1.Pod)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*v1.Pod); ok {
				n.podGone(pod)
			}
		},
	})
	factory.Start(ctx.Done())
}

func (n *processNode) podChanged(pod *v1.Pod) {
	n.mu.Lock()
	w, ok := n.pods[pod.UID]
	if !ok {
		if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			// Finished before this node started: nothing to run, but finish a deletion.
			n.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				n.finalDelete(pod)
			}
			return
		}
		w = newPodWorker(n, pod)
		n.pods[pod.UID] = w
		n.mu.Unlock()
		go w.run()
	} else {
		n.mu.Unlock()
		w.update(pod)
	}
	if pod.DeletionTimestamp != nil {
		w.terminate(gracePeriod(pod))
	}
}

func gracePeriod(pod *v1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// podGone handles a pod removed from the API (after our final delete, or force-deleted).
func (n *processNode) podGone(pod *v1.Pod) {
	n.mu.Lock()
	w, ok := n.pods[pod.UID]
	delete(n.pods, pod.UID)
	n.mu.Unlock()
	if ok {
		w.gone = true
		w.terminate(2 * time.Second)
	}
}

func (n *processNode) finalDelete(pod *v1.Pod) {
	err := n.client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		logf("deleting pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// stopAll kills every container's process group (SIGTERM, then SIGKILL after 2 s).
func (n *processNode) stopAll() {
	n.mu.Lock()
	workers := make([]*podWorker, 0, len(n.pods))
	for _, w := range n.pods {
		workers = append(workers, w)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.killAll(2 * time.Second)
		}()
	}
	wg.Wait()
}

func (n *processNode) podLogDir(pod *v1.Pod) string {
	return filepath.Join(n.cfg.logDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

func (n *processNode) sandboxDir(pod *v1.Pod) string {
	return filepath.Join(n.cfg.podsDir, string(pod.UID))
}
