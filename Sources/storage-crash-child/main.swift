// Placeholder: the child process of the SIGKILL crash test (Tests/StorageTests).
print("storage-crash-child")
