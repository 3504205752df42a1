"""A tiny program that depends on a package its environment lacks."""
import greeter

print(greeter.greet("CAKE"))
