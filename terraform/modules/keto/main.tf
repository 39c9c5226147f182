# Ory Keto (DESIGN section 3: the authorization graph), installed from the ory/keto Helm chart into
# Parley's namespace as release "keto", so its Services are keto-read and keto-write on port 80:
# exactly the KETO_READ_URL / KETO_WRITE_URL the chart's values default to.
#
# Keto gets its own role and database (parley_keto) on the RDS instance, created by a Job inside
# the cluster (RDS is private; Terraform usually is not in the VPC).

module "database" {
  source                = "../pg-database"
  name                  = "keto"
  namespace             = var.namespace
  host                  = var.db_host
  port                  = var.db_port
  master_username       = var.db_master_username
  master_password       = var.db_master_password
  role                  = var.database_role
  database              = var.database_name
  postgres_client_image = var.postgres_client_image
}

locals {
  dsn = format("postgres://%s:%s@%s:%d/%s?sslmode=require&max_conns=20",
  var.database_role, module.database.password, var.db_host, var.db_port, var.database_name)
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

  depends_on = [module.database]
}
