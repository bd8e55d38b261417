/* placeholder: filled in by the TensorFlow reader work */
typedef int msi_tf_table_placeholder;
