# frozen_string_literal: true

# Runs every test file in one process (tests/ruby_binding.sh uses it).
Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
