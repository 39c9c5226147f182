output "password" {
  description = "The role's generated password."
  value       = random_password.role.result
  sensitive   = true
}
