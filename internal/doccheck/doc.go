// Package doccheck holds no code: its test keeps the project's documents honest about the
// repository (every file a document cites exists, and none points outside the repository).
package doccheck
