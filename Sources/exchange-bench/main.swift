import Matching
print("todo")
