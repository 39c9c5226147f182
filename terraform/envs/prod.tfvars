# Production sizing: everything that differs from the stack's (dev-sized) defaults.
# cd terraform/stack && terraform apply -var-file=../envs/prod.tfvars -var-file=../envs/prod.names.tfvars
environment = "prod"
vpc_cidr    = "10.50.0.0/16"
az_count    = 3

single_nat_gateway = false
protect_data       = true

node_groups = {
  general = { instance_types = ["m7g.xlarge"], min_size = 3, desired_size = 3, max_size = 12 }
}

postgres_instance_class        = "db.r7g.large"
postgres_multi_az              = true
postgres_backup_retention_days = 14

redis_node_type = "cache.r7g.large"
redis_replicas  = 1

kafka_broker_count   = 3
kafka_instance_type  = "kafka.m7g.large"
kafka_volume_size_gb = 200

keto_replicas = 2
