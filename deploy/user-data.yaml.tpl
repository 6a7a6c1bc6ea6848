#cloud-config
# elastic-memcache: starts role "{{ROLE}}" on an instance booted from the project's AMI
# (Node 24 and the compiled app in /opt/elastic-memcache/dist, service user "emc":
# deploy/ami/build-ami.sh). Rendered by deploy/render-user-data.ts; do not fill in by hand.
#
# AWS credentials and the region come from the AWS SDK's default provider chain: the
# instance profile supplies the credentials; AWS_REGION is read from the instance
# metadata at first boot unless it was given. None of them is ever written here.
# (A cache node makes no AWS call and needs no instance profile.)
# user-data runs once per instance; the unit is enabled, so it starts on every boot
# (the scaler's StartInstances included).

write_files:
  - path: /etc/elastic-memcache/env
    owner: emc:emc
    permissions: '0600'
    content: |
{{ENVIRONMENT}}
  - path: /etc/systemd/system/elastic-memcache.service
    owner: root:root
    permissions: '0644'
    content: |
      [Unit]
      Description=elastic-memcache ({{ROLE}} role)
      Documentation=file:///opt/elastic-memcache/deploy/AWS.md
      Wants=network-online.target
      After=network-online.target
      # Keep retrying (e.g. while the network or the database is not reachable yet); see journalctl.
      StartLimitIntervalSec=0

      [Service]
      Type=simple
      User=emc
      Group=emc
      WorkingDirectory=/opt/elastic-memcache
{{UNIT_ENVIRONMENT}}
      EnvironmentFile=/etc/elastic-memcache/env
      ExecStart={{EXEC_START}}
      # Whatever the exit status: a role never exits on its own, so any exit is one to recover from.
      Restart=always
      RestartSec=5
      KillSignal=SIGTERM
      TimeoutStopSec=60
      StateDirectory=elastic-memcache
      StateDirectoryMode=0750
      LimitNOFILE=65536
      NoNewPrivileges=yes
      PrivateTmp=yes
      ProtectSystem=strict
      ProtectHome=yes
      ProtectKernelTunables=yes
      ProtectKernelModules=yes
      ProtectControlGroups=yes
      RestrictSUIDSGID=yes

      [Install]
      WantedBy=multi-user.target

runcmd:
  - - sh
    - -c
    - >-
      grep -q '^AWS_REGION=' /etc/elastic-memcache/env ||
      { t=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
      r=$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/placement/region) &&
      printf 'AWS_REGION=%s\n' "$r" >> /etc/elastic-memcache/env; }
{{ROLE_RUNCMD}}
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, elastic-memcache.service]
