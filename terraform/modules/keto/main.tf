# Ory Keto (DESIGN section 3: the authorization graph), installed from the ory/keto Helm chart into
# Parley's namespace as release "keto", so its Services are keto-read and keto-write on port 80:
# exactly the KETO_READ_URL / KETO_WRITE_URL the chart's values default to.
#
# Keto gets its own role and database (parley_keto) on the RDS instance, created by a Job inside
# the cluster (RDS is private; Terraform usually is not in the VPC).

resource "random_password" "keto" {
  length           = 32
  special          = true
  override_special = "-_"
}

locals {
  dsn = format("postgres://%s:%s@%s:%d/%s?sslmode=require&max_conns=20",
  var.database_role, random_password.keto.result, var.db_host, var.db_port, var.database_name)
}

resource "kubernetes_secret_v1" "bootstrap" {
  metadata {
    name      = "keto-db-bootstrap"
    namespace = var.namespace
  }
  data = {
    PGPASSWORD    = var.db_master_password
    ROLE_PASSWORD = random_password.keto.result
  }
}

# Idempotent: creates or updates the role, creates the database if missing, gives it to the role and
# closes it to other roles. Re-runs (the Job is replaced) when the password changes.
resource "kubernetes_job_v1" "database" {
  metadata {
    name      = "keto-db-bootstrap"
    namespace = var.namespace
  }
  spec {
    backoff_limit              = 6
    ttl_seconds_after_finished = 3600
    template {
      metadata {
        annotations = { "parley.im/password-rev" = sha256(random_password.keto.result) }
      }
      spec {
        restart_policy = "Never"
        container {
          name    = "psql"
          image   = var.postgres_client_image
          command = ["/bin/sh", "-ec"]
          args = [<<-SH
            psql -v ON_ERROR_STOP=1 -v role="$ROLE" -v pw="$ROLE_PASSWORD" -v db="$DB" <<'SQL'
            SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
            ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
            GRANT :"role" TO CURRENT_USER;
            SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
            ALTER DATABASE :"db" OWNER TO :"role";
            REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
            SQL
          SH
          ]
          env {
            name  = "PGHOST"
            value = var.db_host
          }
          env {
            name  = "PGPORT"
            value = tostring(var.db_port)
          }
          env {
            name  = "PGUSER"
            value = var.db_master_username
          }
          env {
            name  = "PGDATABASE"
            value = "postgres"
          }
          env {
            name  = "PGSSLMODE"
            value = "require"
          }
          env {
            name  = "ROLE"
            value = var.database_role
          }
          env {
            name  = "DB"
            value = var.database_name
          }
          env_from {
            secret_ref {
              name = kubernetes_secret_v1.bootstrap.metadata[0].name
            }
          }
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "10m"
    update = "10m"
  }
}

# The chart reads the DSN from an existing Secret (key "dsn") when secret.enabled is false, so the
# password never passes through Helm values (which Helm stores in its release Secret anyway, but
# this keeps it out of `helm get values`).
resource "kubernetes_secret_v1" "dsn" {
  metadata {
    name      = "keto-dsn"
    namespace = var.namespace
  }
  data = {
    dsn = local.dsn
  }
}

resource "helm_release" "keto" {
  name       = "keto"
  repository = "https://k8s.ory.sh/helm/charts"
  chart      = "keto"
  version    = var.chart_version
  namespace  = var.namespace
  wait       = true
  timeout    = 600

  values = [yamlencode({
    replicaCount = var.replicas
    image        = { tag = var.image_tag }
    secret       = { enabled = false, nameOverride = kubernetes_secret_v1.dsn.metadata[0].name }
    keto = {
      automigration = { enabled = true, type = "job" }
      config = {
        version = var.image_tag
        serve = {
          read    = { port = 4466 }
          write   = { port = 4467 }
          metrics = { port = 4468 }
          opl     = { port = 4469 }
        }
        # The same OPL file the local platform uses (infra/platform/keto/namespaces.keto.ts),
        # inlined as a base64:// URL so no extra volume is needed.
        namespaces = { location = "base64://${base64encode(var.namespaces_opl)}" }
        log        = { level = "warn", format = "json" }
      }
    }
    pdb = { enabled = var.replicas > 1, spec = { maxUnavailable = 1 } }
  })]

  depends_on = [kubernetes_job_v1.database]
}
