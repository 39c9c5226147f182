# RDS PostgreSQL 15: Parley's source of truth (DESIGN section 3) and, in a separate database, Keto's.
# This module creates the server and its master credentials only; the application and Keto roles and
# databases are created from inside the cluster (modules/parley, modules/keto), because the
# instance is private and Terraform usually runs outside the VPC.

resource "random_password" "master" {
  length = 32
  # URL-safe: the password is embedded in postgres:// DSNs without escaping.
  special          = true
  override_special = "-_"
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL clients"
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-pg15"
  family = "postgres15"
  tags   = var.tags

  # Refuse unencrypted connections; the DSNs this stack builds use sslmode=require.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # Log slow statements: the hot path (send) is one short transaction.
  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_ms)
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = var.database_name
  username = var.master_username
  password = random_password.master.result
  port     = 5432

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false

  backup_retention_period    = var.backup_retention_days
  auto_minor_version_upgrade = true
  # Major upgrades are deliberate (migrations, Keto compatibility), never automatic.
  allow_major_version_upgrade = false
  apply_immediately           = var.apply_immediately

  performance_insights_enabled    = true
  enabled_cloudwatch_logs_exports = ["postgresql"]

  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : "${var.name}-final"
  copy_tags_to_snapshot     = true

  tags = var.tags
}
