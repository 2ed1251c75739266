# frozen_string_literal: true

# Runs every test file in one process (tests/ruby_binding.sh uses it).
#
# Registered first, so run last, after minitest's own at_exit has run the
# tests: wait until Ruby's cache of ended native threads is empty before
# the interpreter is torn down.  Ruby 3.1 keeps an ended thread's native
# thread for 3 s (THREAD_CACHE_TIME); when it then exits, ruby-ffi's
# per-thread data is freed with ruby_xfree, which crashes if the VM is
# already gone (Ruby Bug #19580, fixed in Ruby 3.3).  The suite's threads
# would otherwise crash the interpreter at exit about once in 20 runs,
# after every test passed.
at_exit { sleep 3.2 if RUBY_VERSION < "3.3" }

Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
