# Parley on AWS: network -> data stores (RDS, ElastiCache, MSK, S3) -> EKS -> Knative -> Keto -> Parley.

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

locals {
  name = "parley-${var.environment}"
  tags = merge({ project = "parley", environment = var.environment, managed-by = "terraform" }, var.tags)
  # The repository root, from terraform/stack.
  repo_root = abspath("${path.root}/../..")
}

# The Kubernetes and Helm providers talk to the cluster created below, authenticating with
# `aws eks get-token` at each call (short-lived tokens; needs the AWS CLI where Terraform runs).
provider "kubernetes" {
  host                   = module.kubernetes.endpoint
  cluster_ca_certificate = base64decode(module.kubernetes.certificate_authority_data)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.kubernetes.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.kubernetes.endpoint
    cluster_ca_certificate = base64decode(module.kubernetes.certificate_authority_data)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.kubernetes.cluster_name, "--region", var.region]
    }
  }
}

module "network" {
  source             = "../modules/network"
  name               = local.name
  cidr               = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
}

module "kubernetes" {
  source                 = "../modules/kubernetes"
  name                   = local.name
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  endpoint_public_access = true
  public_access_cidrs    = var.api_allowed_cidrs
  admin_principal_arns   = var.cluster_admin_arns
  node_groups            = var.node_groups
}

module "postgres" {
  source                     = "../modules/postgres"
  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.kubernetes.node_security_group_id]
  instance_class             = var.postgres_instance_class
  multi_az                   = var.postgres_multi_az
  backup_retention_days      = var.postgres_backup_retention_days
  deletion_protection        = var.protect_data
  skip_final_snapshot        = !var.protect_data
  apply_immediately          = !var.protect_data
}

module "redis" {
  source                     = "../modules/redis"
  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.kubernetes.node_security_group_id]
  node_type                  = var.redis_node_type
  replicas                   = var.redis_replicas
  transit_encryption_enabled = var.redis_transit_encryption
  apply_immediately          = !var.protect_data
}

module "kafka" {
  source                     = "../modules/kafka"
  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.kubernetes.node_security_group_id]
  broker_count               = var.kafka_broker_count
  instance_type              = var.kafka_instance_type
  ebs_volume_size_gb         = var.kafka_volume_size_gb
  default_partitions         = var.kafka_partitions
  client_broker_encryption   = var.kafka_client_broker_encryption
  iam_auth                   = var.kafka_iam_auth
}

module "s3" {
  source               = "../modules/s3"
  bucket_name          = var.files_bucket_name
  cors_allowed_origins = var.app_origins
  force_destroy        = !var.protect_data
}

module "knative" {
  source                 = "../modules/knative"
  domain                 = var.knative_domain
  operator_chart_version = var.knative_operator_chart_version
  serving_version        = var.knative_serving_version
  eventing_version       = var.knative_eventing_version
  kafka_broker_version   = var.knative_kafka_broker_version
  depends_on             = [module.kubernetes]
}

# values.yaml `namespace`: Keto and Parley share it (the chart expects keto-read.parley.svc).
resource "kubernetes_namespace_v1" "parley" {
  metadata {
    name = "parley"
  }
  depends_on = [module.kubernetes]
}

module "keto" {
  source             = "../modules/keto"
  namespace          = kubernetes_namespace_v1.parley.metadata[0].name
  chart_version      = var.keto_chart_version
  image_tag          = var.keto_image_tag
  replicas           = var.keto_replicas
  namespaces_opl     = file("${local.repo_root}/infra/platform/keto/namespaces.keto.ts")
  db_host            = module.postgres.host
  db_port            = module.postgres.port
  db_master_username = module.postgres.master_username
  db_master_password = module.postgres.master_password
}

# The CA bundle RDS certificates chain to, for sslmode=verify-full (published by AWS per region).
data "http" "rds_ca" {
  url = "https://truststore.pki.rds.amazonaws.com/${var.region}/${var.region}-bundle.pem"
  lifecycle {
    postcondition {
      condition     = self.status_code == 200 && strcontains(self.response_body, "BEGIN CERTIFICATE")
      error_message = "Could not fetch the RDS CA bundle for ${var.region}."
    }
  }
}

module "parley" {
  source     = "../modules/parley"
  name       = local.name
  namespace  = kubernetes_namespace_v1.parley.metadata[0].name
  chart_path = "${local.repo_root}/charts/parley"
  image      = { registry = var.image_registry, tag = var.image_tag }

  oidc_issuer     = var.public_url
  allowed_origins = var.app_origins

  database = {
    host            = module.postgres.host
    port            = module.postgres.port
    name            = module.postgres.database_name
    master_username = module.postgres.master_username
    master_password = module.postgres.master_password
  }
  redis_addr = module.redis.redis_addr
  redis_auth = {
    tls      = module.redis.tls
    username = module.redis.username
    password = module.redis.password
  }
  postgres_ca_pem = data.http.rds_ca.response_body
  kafka = {
    bootstrap_servers       = module.kafka.bootstrap_servers
    tls                     = module.kafka.uses_tls
    sasl_mechanism          = module.kafka.client_security.sasl_mechanism
    scram_bootstrap_servers = module.kafka.bootstrap_brokers_sasl_scram
    scram_username          = module.kafka.client_security.scram_username
    scram_password          = module.kafka.scram_password
    bootstrap_servers_tls   = module.kafka.bootstrap_brokers_tls
    iam_bootstrap_servers   = module.kafka.bootstrap_brokers_sasl_iam
    cluster_arn             = module.kafka.cluster_arn
    security_group_id       = module.kafka.security_group_id
    partitions              = var.kafka_partitions
    replication_factor      = module.kafka.replication_factor
  }
  keto = {
    read_url  = module.keto.read_url
    write_url = module.keto.write_url
  }
  s3 = {
    bucket_name      = module.s3.bucket_name
    bucket_arn       = module.s3.bucket_arn
    region           = module.s3.region
    kms_key_arn      = module.s3.kms_key_arn
    events_queue_url = module.s3.events_queue_url
    events_queue_arn = module.s3.events_queue_arn
  }
  s3_auth_mode = var.s3_auth_mode
  irsa = {
    oidc_provider_arn = module.kubernetes.oidc_provider_arn
    oidc_issuer       = module.kubernetes.oidc_issuer
  }
  s3_bridge = {
    enabled           = var.s3_bridge_plugin != null
    plugin_bucket_arn = try(var.s3_bridge_plugin.bucket_arn, null)
    plugin_file_key   = try(var.s3_bridge_plugin.file_key, null)
    subnet_ids        = module.network.private_subnet_ids
  }
  turn_secret = var.turn_secret
  push        = var.push
  extra_env   = var.extra_env

  # Knative's CRDs and the Kafka data plane must exist before the chart's objects.
  depends_on = [module.knative]
}
