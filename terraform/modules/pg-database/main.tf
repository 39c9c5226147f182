# One PostgreSQL role and database for one component, created by a Job inside the cluster (RDS is
# private; Terraform usually is not in the VPC). Used by the keto and parley modules.

resource "random_password" "role" {
  length           = 32
  special          = true
  override_special = "-_"
}

resource "kubernetes_secret_v1" "bootstrap" {
  metadata {
    name      = "${var.name}-db-bootstrap"
    namespace = var.namespace
  }
  data = {
    PGPASSWORD    = var.master_password
    ROLE_PASSWORD = random_password.role.result
  }
}

# Idempotent: creates or updates the role, creates the database if missing, gives it to the role and
# closes it to other roles. Re-runs (the Job is replaced) when the password changes.
resource "kubernetes_job_v1" "database" {
  metadata {
    name      = "${var.name}-db-bootstrap"
    namespace = var.namespace
  }
  spec {
    backoff_limit              = 6
    ttl_seconds_after_finished = 3600
    template {
      metadata {
        annotations = { "parley.im/password-rev" = sha256(random_password.role.result) }
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
            value = var.host
          }
          env {
            name  = "PGPORT"
            value = tostring(var.port)
          }
          env {
            name  = "PGUSER"
            value = var.master_username
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
            value = var.role
          }
          env {
            name  = "DB"
            value = var.database
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
