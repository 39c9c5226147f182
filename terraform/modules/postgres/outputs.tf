output "host" {
  description = "Instance endpoint host name."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "The application database created with the instance."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name (bootstrap only)."
  value       = aws_db_instance.this.username
}

output "master_password" {
  description = "Master password (bootstrap only)."
  value       = random_password.master.result
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}
