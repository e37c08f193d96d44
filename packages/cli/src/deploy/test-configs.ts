/**
 * Test fixtures: host configurations as people write them (comments, other runtimes, registry
 * mirrors, multi-line arrays and strings with `[` inside, arrays of tables), for the deploy tests.
 */

/** containerd 1.6/1.7 (config version 2), shaped like `containerd config default` plus local edits. */
export const CONTAINERD_V2 = `# /etc/containerd/config.toml: hand-edited, see the node runbook
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999
imports = ["/etc/containerd/conf.d/*.toml"]

[grpc]
  address = "/run/containerd/containerd.sock"
  max_recv_message_size = 16777216

[debug]
  level = "info"

[timeouts]
  "io.containerd.timeout.shim.cleanup" = "5s"

[plugins]
  [plugins."io.containerd.gc.v1.scheduler"]
    pause_threshold = 0.02
    deletion_threshold = 0
    mutation_threshold = 100.0
    schedule_delay = "0s"

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.9"
    max_container_log_line_size = 16384
    # keep in sync with the kubelet
    enable_unprivileged_ports = false

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
            BinaryName = "/usr/bin/runc"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]
          runtime_type = "io.containerd.runsc.v1"
          pod_annotations = [
            "dev.gvisor.*", # trace and debug flags
            "[not a header]",
          ]

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
      conf_template = """
[a line inside a multi-line string that looks like a header]
"""

    # pull through the local mirror first
    [plugins."io.containerd.grpc.v1.cri".registry]
      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
        [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
          endpoint = ["https://mirror.example.internal", "https://registry-1.docker.io"]
      [plugins."io.containerd.grpc.v1.cri".registry.configs."mirror.example.internal".tls]
        insecure_skip_verify = false
`;

/** containerd 2.x (config version 3), with the literal-quoted plugin ids `containerd config default` prints. */
export const CONTAINERD_V3 = `version = 3
root = '/var/lib/containerd'
state = '/run/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = '/etc/containerd/certs.d'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        sandboxer = 'podsandbox'

  [[plugins.'io.containerd.transfer.v1.local'.unpack_config]]
    platform = 'linux/amd64'
    snapshotter = 'overlayfs'
`;

/** Version 2 with a Kata handler someone configured before (upstream Kata's paths), between two other tables. */
export const CONTAINERD_V2_WITH_KATA = `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
  privileged_without_host_devices = true
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]
  ConfigPath = "/opt/kata/share/defaults/kata-containers/configuration-qemu.toml"

# mirrors for the air-gapped lab
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["https://mirror.lab"]
`;
