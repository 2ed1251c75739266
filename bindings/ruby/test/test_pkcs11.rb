# frozen_string_literal: true

require_relative "helper"
require "fileutils"
require "open3"
require "tmpdir"

# key: "pkcs11:..." is handed to the library as it is, which loads the key
# from the token: a SoftHSM2 token made in a temporary directory, an ECDSA
# key generated in it, a certificate of the test CA for it.  Skipped, with
# what is missing, when SoftHSM2, pkcs11-tool or OpenSSL's pkcs11 engine is.
class TestPKCS11 < Minitest::Test
  include MTLSTest

  PIN = "4321"
  MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so",
             "/usr/local/lib/softhsm/libsofthsm2.so"].freeze

  def softhsm_module
    Dir[ENV.fetch("SOFTHSM2_MODULE", ""), *MODULES].find { |m| File.file?(m) }
  end

  def sh(*cmd)
    out, status = Open3.capture2e(*cmd)
    assert status.success?, "#{cmd.join(' ')}: #{out}"
  end

  def setup
    skip "softhsm2-util not found (apt-get install softhsm2)" unless system("command -v softhsm2-util >/dev/null")
    skip "pkcs11-tool not found (apt-get install opensc)" unless system("command -v pkcs11-tool >/dev/null")
    skip "libsofthsm2.so not found; set SOFTHSM2_MODULE" unless (@module = softhsm_module)
    skip "OpenSSL's pkcs11 engine not found (apt-get install libengine-pkcs11-openssl)" unless
      system("openssl engine pkcs11 -t >/dev/null 2>&1")
    @dir = Dir.mktmpdir("mtls-ruby-pkcs11")
    make_token
  end

  def teardown
    ENV.delete("SOFTHSM2_CONF")
    FileUtils.rm_rf(@dir) if @dir
  end

  def make_token
    Dir.mkdir("#{@dir}/tokens")
    File.write("#{@dir}/softhsm2.conf", "directories.tokendir = #{@dir}/tokens\nobjectstore.backend = file\n")
    ENV["SOFTHSM2_CONF"] = "#{@dir}/softhsm2.conf"
    sh("softhsm2-util", "--init-token", "--free", "--label", "ruby-test", "--pin", PIN, "--so-pin", "87654321")
    tool = ["pkcs11-tool", "--module", @module, "--token-label", "ruby-test"]
    sh(*tool, "--login", "--pin", PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "k", "--id", "01")
    sh(*tool, "--read-object", "--type", "pubkey", "--label", "k", "-o", "#{@dir}/k.der")
    sh("openssl", "pkey", "-pubin", "-inform", "DER", "-in", "#{@dir}/k.der", "-out", "#{@dir}/k.pub")
    File.write("#{@dir}/ext.cnf", "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n" \
                                  "subjectAltName = DNS:localhost\n")
    sh("openssl", "x509", "-new", "-subj", "/CN=token server", "-force_pubkey", "#{@dir}/k.pub",
       "-CA", pki("ca.crt"), "-CAkey", pki("ca.key"), "-days", "30", "-extfile", "#{@dir}/ext.cnf",
       "-out", "#{@dir}/k.crt")
  end

  def uri(object = "k")
    "pkcs11:token=ruby-test;object=#{object}?module-path=#{@module}"
  end

  # The failures first: once the engine has logged in to the token, this
  # process stays logged in, and a later wrong PIN is not asked for.
  def test_key_in_token
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(cert: "#{@dir}/k.crt", key: uri, password: "1111", ca_file: pki("ca.crt"))
    end
    assert_equal MTLS::CODES[:PASSPHRASE], e.code
    assert_match(/token 'ruby-test' refused the PIN \(CKR_PIN_INCORRECT\)/, e.message)
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(cert: "#{@dir}/k.crt", key: uri("nope"), password: PIN, ca_file: pki("ca.crt"))
    end
    assert_equal MTLS::CODES[:FILE], e.code
    assert_match(/no private key matches pkcs11:token=ruby-test;object=nope in token 'ruby-test'/, e.message)
    ctx = MTLS::Context.new(cert: "#{@dir}/k.crt", key: uri, password: PIN, ca_file: pki("ca.crt"))
    with_server(context: ctx) do |server, _|
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: client_context).status
    end
  end

end
