# frozen_string_literal: true

require_relative "helper"
require "rbconfig"

class TestLoading < Minitest::Test
  include MTLSTest

  LIB = File.expand_path("../lib", __dir__)

  def ruby(code, env = {})
    out = IO.popen(env, [RbConfig.ruby, "-I", LIB, "-e", code], err: %i[child out], &:read)
    [out, $?.exitstatus]
  end

  def test_loads_exactly_libmtls_path
    path = ENV["LIBMTLS_PATH"]
    skip "LIBMTLS_PATH not set (run through make check)" if path.nil? || path.empty?
    assert_equal path, MTLS::Native.library_path
    maps = File.readlines("/proc/self/maps").map { |l| l.split[5] }.compact.uniq
    mapped = maps.select { |f| File.basename(f).start_with?("libmtls.so") }
    assert_equal [File.realpath(path)], mapped, "the libmtls mapped in this process"
  end

  def test_abi_version_checked
    assert_equal MTLS::ABI_VERSION, MTLS::Native.mtls_abi_version
  end

  def test_missing_library_says_what_to_do
    out, status = ruby('begin; require "mtls"; rescue LoadError => e; puts e.class, e.message; exit 3; end',
                       "LIBMTLS_PATH" => "/nonexistent/libmtls.so.0")
    assert_equal 3, status, out
    assert_match(/MTLS::LoadError/, out)
    assert_match(%r{cannot load libmtls from "/nonexistent/libmtls.so.0"}, out)
    assert_match(/LIBMTLS_PATH is set/, out)
  end

  def test_library_without_mtls_symbols_is_too_old
    libz = Dir["/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/*/libz.so.1", "/lib/*/libc.so.6"].first
    skip "no system library to stand in for an old libmtls" unless libz
    out, status = ruby('begin; require "mtls"; rescue LoadError => e; puts e.message; exit 3; end',
                       "LIBMTLS_PATH" => libz)
    assert_equal 3, status, out
    assert_match(/has no mtls_abi_version\(\): it is older than this binding/, out)
  end

  def test_sigpipe_disposition_unchanged
    code = 'm = ->{ File.read("/proc/self/status")[/^SigIgn:\s*(\h+)/, 1].to_i(16)[12] }; ' \
           'before = m.(); require "mtls"; MTLS::Context.new; puts [before, m.()].inspect'
    out, status = ruby(code, "LIBMTLS_PATH" => ENV.fetch("LIBMTLS_PATH", ""))
    assert_equal 0, status, out
    before, after = eval(out) # rubocop:disable Security/Eval
    assert_equal before, after, "SIGPIPE disposition changed"
  end
end
